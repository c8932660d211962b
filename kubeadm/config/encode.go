package config

import (
	"encoding/json"
	"fmt"
	"reflect"

	"sigs.k8s.io/yaml"
)

// encode marshals an API object to YAML without the noise encoding/json adds
// for fields left at their zero value (struct fields are never omitted, even
// with omitempty): any value equal to what the zero object of the same type
// serialises to is dropped, and so is every null. Decoding treats an absent
// field exactly like its zero value, so the meaning is unchanged; pointers
// set to zero (failSwapOn: false, maxPerCore: 0) stay, because the zero
// object has them nil.
func encode(obj, zero any) ([]byte, error) {
	m, err := toMap(obj)
	if err != nil {
		return nil, err
	}
	z, err := toMap(zero)
	if err != nil {
		return nil, err
	}
	pruned, _ := prune(m, z).(map[string]any)
	return yaml.Marshal(pruned)
}

func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal %T: %w", v, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("marshal %T: %w", v, err)
	}
	return m, nil
}

// prune returns v without the parts equal to zero (the same path in the
// zero object, or nil when the zero object has nothing there).
func prune(v, zero any) any {
	switch t := v.(type) {
	case map[string]any:
		zm, _ := zero.(map[string]any)
		out := map[string]any{}
		for k, val := range t {
			if val == nil {
				continue
			}
			zv, inZero := zm[k]
			if inZero && reflect.DeepEqual(val, zv) {
				continue
			}
			p := prune(val, zv)
			if pm, ok := p.(map[string]any); ok && len(pm) == 0 && inZero {
				continue
			}
			out[k] = p
		}
		return out
	case []any:
		out := make([]any, 0, len(t))
		for _, e := range t {
			out = append(out, prune(e, nil))
		}
		return out
	default:
		return v
	}
}
