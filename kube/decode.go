package kube

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Decode reads a manifest someone else wrote (YAML documents or JSON, a
// `kind: List` spread into its items) as objects for Apply, in order.
// Empty documents are skipped; an object without a kind or name is an
// error naming its position.
func Decode(manifest []byte) ([]Object, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	var out []Object
	for doc := 1; ; doc++ {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("document %d: %w", doc, err)
			}
			for i := range list.Items {
				item := &list.Items[i]
				if err := named(item); err != nil {
					return nil, fmt.Errorf("document %d, item %d: %w", doc, i+1, err)
				}
				out = append(out, item)
			}
			continue
		}
		if err := named(u); err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		out = append(out, u)
	}
}

func named(u *unstructured.Unstructured) error {
	if u.GetKind() == "" || u.GetAPIVersion() == "" || u.GetName() == "" {
		return fmt.Errorf("an object needs apiVersion, kind and metadata.name (got %q %q %q)", u.GetAPIVersion(), u.GetKind(), u.GetName())
	}
	return nil
}
