package lab

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// EnvPrefix prefixes the environment variables that override the lab file:
// LABCTL_ATTENDEES, LABCTL_KUBERNETES_VERSION, LABCTL_SSH_PARALLEL...
const EnvPrefix = "LABCTL"

// LoadOptions says where a lab comes from. Later sources win: the file, then
// LABCTL_* environment variables, then flags that were set.
type LoadOptions struct {
	// Path is the lab file. A missing file is an error unless AllowMissing.
	Path         string
	AllowMissing bool
	// Environ is the environment to read (os.Environ() when nil).
	Environ []string
	// Flags maps lab keys ("ssh.parallel") to flags that override them.
	Flags map[string]*pflag.Flag
}

// Load reads, merges, defaults and validates a lab.
func Load(o LoadOptions) (*Lab, error) {
	data, err := ReadSmallFile(o.Path, MaxLabFile)
	switch {
	case errors.Is(err, os.ErrNotExist) && o.AllowMissing:
		data = nil
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("lab file %s not found (run `labctl init` to write one, or pass -f)", o.Path)
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("lab file %s: %w", o.Path, err)
	}
	env := o.Environ
	if env == nil {
		env = os.Environ()
	}
	return decode(o.Path, data, env, o.Flags)
}

// Parse is Load for a lab file already in memory, without environment or flags.
func Parse(name string, data []byte) (*Lab, error) {
	return decode(name, data, []string{}, nil)
}

func decode(name string, data []byte, env []string, flags map[string]*pflag.Flag) (*Lab, error) {
	if err := checkShape(name, data); err != nil {
		return nil, err
	}
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("%s: %s", name, oneLine(err))
	}
	for _, key := range leafKeys(reflect.TypeOf(Lab{}), "") {
		if f, ok := flags[key]; ok && f.Changed {
			continue // a flag that was set wins over the environment
		}
		if val, ok := lookup(env, EnvName(key)); ok {
			v.Set(key, val)
		}
	}
	for key, f := range flags {
		if err := v.BindPFlag(key, f); err != nil {
			return nil, fmt.Errorf("flag --%s: %w", f.Name, err)
		}
	}
	var l Lab
	if err := v.Unmarshal(&l, func(c *mapstructure.DecoderConfig) {
		c.TagName = "yaml"
		c.DecodeHook = mapstructure.ComposeDecodeHookFunc(c.DecodeHook, timeAsText)
	}); err != nil {
		return nil, fmt.Errorf("%s: %s", name, oneLine(err))
	}
	if err := explicitZeros(v, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	l.applyDefaults()
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &l, nil
}

// EnvName is the environment variable for a lab key: "ssh.parallel" →
// LABCTL_SSH_PARALLEL.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// leafKeys lists the dotted keys of scalar and string-list fields, the ones
// an environment variable can set.
func leafKeys(t reflect.Type, prefix string) []string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []string
	for name, f := range yamlFields(t) {
		key := join(prefix, name)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct:
			keys = append(keys, leafKeys(ft, key)...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() != reflect.String:
		case ft.Kind() == reflect.Map:
		default:
			keys = append(keys, key)
		}
	}
	return keys
}

func lookup(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
