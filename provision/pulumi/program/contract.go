package program

import (
	"encoding/json"
	"fmt"
)

// ContractVersion is the version of the stack outputs below. It changes
// only when a field changes meaning or goes away; new fields keep it.
//
// Contract version 1, two stack outputs:
//
//	contract: 1
//	clusters: [                     one per attendee, by index from 1
//	  {index: 1, nodes: [           node1 (the control plane) first
//	    {name: "node1",
//	     publicAddress: "203.0.113.10",  where labctl connects
//	     privateAddress: "10.0.1.5",     where the cluster's nodes meet
//	     port: 22,                       SSH port
//	     user: "root",                   login labctl uses
//	     hostKey: "ssh-ed25519 AAAA...", the node's SSH host key (pinned)
//	     id: "i-0abc..."}]}]             the provider's handle
const ContractVersion = 1

// Outputs are the stack outputs of contract version 1.
type Outputs struct {
	Contract int       `json:"contract"`
	Clusters []Cluster `json:"clusters"`
}

// Cluster is one attendee's nodes.
type Cluster struct {
	Index int    `json:"index"`
	Nodes []Node `json:"nodes"`
}

// Node is one machine as the program made it.
type Node struct {
	Name           string `json:"name"`
	PublicAddress  string `json:"publicAddress"`
	PrivateAddress string `json:"privateAddress"`
	Port           int    `json:"port"`
	User           string `json:"user"`
	HostKey        string `json:"hostKey"`
	ID             string `json:"id"`
}

// ParseOutputs reads a stack's outputs (name -> plain value, as the
// Automation API or `pulumi stack output --json` gives them).
func ParseOutputs(values map[string]any) (*Outputs, error) {
	v, ok := values["contract"]
	if !ok {
		return nil, fmt.Errorf("stack outputs: no \"contract\" output: not a stack of labctl's Pulumi program")
	}
	b, err := json.Marshal(map[string]any{"contract": v, "clusters": values["clusters"]})
	if err != nil {
		return nil, err
	}
	var o Outputs
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("stack outputs: %w", err)
	}
	if o.Contract != ContractVersion {
		return nil, fmt.Errorf("stack outputs: contract version %d, this labctl reads %d", o.Contract, ContractVersion)
	}
	for _, c := range o.Clusters {
		for _, n := range c.Nodes {
			if n.PublicAddress == "" || n.HostKey == "" || n.Port == 0 {
				return nil, fmt.Errorf("stack outputs: cluster %d %s: address, port or host key missing", c.Index, n.Name)
			}
		}
	}
	return &o, nil
}
