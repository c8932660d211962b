package phase

import (
	"fmt"
	"strings"
)

// StepError says which node failed which step.
type StepError struct {
	Node NodeRef
	Step string
	Err  error
}

// Fail is t's failure at step.
func Fail(t NodeRef, step string, err error) *StepError {
	return &StepError{Node: t, Step: step, Err: err}
}

func (e *StepError) Error() string {
	host := e.Node.String()
	msg := strings.TrimPrefix(e.Err.Error(), host+": ")
	return fmt.Sprintf("%s: step %s: %s", host, e.Step, msg)
}

func (e *StepError) Unwrap() error { return e.Err }

// Where is the step as the state keeps it: "03/node2 kubeadm join".
func (e *StepError) Where() string { return e.Node.String() + " " + e.Step }

// StepAttempts bounds the runs of a step whose connection keeps dropping.
const StepAttempts = 3
