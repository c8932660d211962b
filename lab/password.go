package lab

import (
	"crypto/rand"
	"fmt"
	"math"
	"math/big"
	"strings"
)

// passwordAlphabet leaves out characters that are misread or misheard:
// 0/o, 1/l/i, and upper case altogether (nobody reads case aloud).
const passwordAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// Password groups: 3 groups of 5 from 31 symbols = 74 bits of entropy.
const passwordGroups, passwordGroupLen = 3, 5

// NewPassword returns a random password like "k7mxr-qb4zp-tn3hw".
func NewPassword() (string, error) {
	max := big.NewInt(int64(len(passwordAlphabet)))
	groups := make([]string, passwordGroups)
	for g := range groups {
		var b strings.Builder
		for i := 0; i < passwordGroupLen; i++ {
			n, err := rand.Int(rand.Reader, max)
			if err != nil {
				return "", fmt.Errorf("password: %w", err)
			}
			b.WriteByte(passwordAlphabet[n.Int64()])
		}
		groups[g] = b.String()
	}
	return strings.Join(groups, "-"), nil
}

// PasswordBits is the entropy of NewPassword's output.
func PasswordBits() float64 {
	return float64(passwordGroups*passwordGroupLen) * math.Log2(float64(len(passwordAlphabet)))
}
