package deploy

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// Every field of engine.ContainerSpec but the name and the env (which
// gives one part per value) is a part of the fingerprint as soon as it is
// set, so a field added to the spec is compared without anyone
// remembering to.
func TestSpecFingerprintCoversEveryField(t *testing.T) {
	base := engine.ContainerSpec{Name: "hello-web-v1", Image: "hello:v1"}
	v := reflect.ValueOf(&base).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Name == "Name" || f.Name == "Env" || f.Name == "Image" {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			spec := base
			sv := reflect.ValueOf(&spec).Elem().Field(i)
			switch sv.Kind() {
			case reflect.String:
				sv.SetString("x")
			case reflect.Bool:
				sv.SetBool(true)
			case reflect.Int64:
				sv.SetInt(int64(time.Second))
			case reflect.Float64:
				sv.SetFloat(1.5)
			case reflect.Slice:
				sv.Set(reflect.ValueOf([]string{"x"}))
			case reflect.Map:
				sv.Set(reflect.ValueOf(map[string]string{"x": "y"}))
			default:
				t.Fatalf("a field of kind %s: teach this test to set it", sv.Kind())
			}
			changes := specFingerprint(spec, nil, nil).Changes(specFingerprint(base, nil, nil))
			require.Len(t, changes, 1, "setting %s changes the fingerprint", f.Name)
			assert.Equal(t, partName(f.Name)+" changed", changes[0])
		})
	}
	t.Run("leaves the version and container env out", func(t *testing.T) {
		spec := base
		spec.Env = []string{envVersion + "=v1", envContainer + "=hello-web-v1", "LOG_LEVEL=info"}
		f := specFingerprint(spec, nil, nil)
		assert.Contains(t, f, "env.LOG_LEVEL")
		assert.NotContains(t, f, "env."+envVersion)
		assert.NotContains(t, f, "env."+envContainer)
	})
}

func TestPartName(t *testing.T) {
	for field, part := range map[string]string{"Memory": "memory", "ExtraHosts": "extra-hosts", "CPUs": "cpus", "StopTimeout": "stop-timeout"} {
		assert.Equal(t, part, partName(field))
	}
}

func TestFingerprintKeyScript(t *testing.T) {
	t.Run("reads a key and nothing else", func(t *testing.T) {
		key, err := parseKey([]byte("key " + strings.Repeat("ab", keyLen) + "\n"))
		require.NoError(t, err)
		assert.Len(t, key, keyLen)
		key, err = parseKey(nil)
		require.NoError(t, err)
		assert.Nil(t, key, "no key yet")
	})
	t.Run("refuses a damaged key without quoting it", func(t *testing.T) {
		_, err := parseKey([]byte("key 0123zz\n"))
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "0123zz")
	})
	t.Run("makes a missing key readable by its owner only, written aside first", func(t *testing.T) {
		s := keyScript(".slipway/keys/hello-fingerprint", true)
		assert.Contains(t, s, "umask 077")
		assert.Contains(t, s, "mv -f")
		assert.NotContains(t, keyScript(".slipway/keys/hello-fingerprint", false), "urandom", "a read-only plan makes no key")
	})
}
