package secret

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mapSource has the secrets in its map and misses every other.
type mapSource map[string]string

func (m mapSource) Secret(_ context.Context, name string) (string, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	return "", &MissingError{name, "not in the map"}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
}

func TestEnv(t *testing.T) {
	t.Setenv("SLIPWAY_TEST_SECRET", "s3cret")
	t.Setenv("SLIPWAY_TEST_EMPTY", "")

	v, err := Env{}.Secret(t.Context(), "SLIPWAY_TEST_SECRET")
	require.NoError(t, err)
	assert.Equal(t, "s3cret", v)

	t.Run("counts a variable set empty as present", func(t *testing.T) {
		v, err := Env{}.Secret(t.Context(), "SLIPWAY_TEST_EMPTY")
		require.NoError(t, err)
		assert.Empty(t, v)
	})
	t.Run("reports an unset variable as missing", func(t *testing.T) {
		_, err := Env{}.Secret(t.Context(), "SLIPWAY_TEST_UNSET")
		require.ErrorIs(t, err, ErrMissing)
		assert.EqualError(t, err, "secret SLIPWAY_TEST_UNSET missing: not set in the environment")
	})
}

func TestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets")
	writeFile(t, path, strings.Join([]string{
		"# Slipway secrets: keep this file out of git",
		"",
		"PLAIN=abc123",
		"export EXPORTED=exp",
		"  SPACED  =  padded value   ",
		"COMMENTED=value # a comment",
		"HASH=a#b",
		`DOUBLE="two words # not a comment"`,
		`ESCAPED="line1\nline2 \"quoted\" back\\slash"`,
		`SINGLE='literal $HOME \n'`,
		"EMPTY=",
		`EMPTY_QUOTED=""`,
		`PEM="-----BEGIN KEY-----`,
		`abc`,
		`-----END KEY-----"`,
		"EQUALS=a=b==",
		"CRLF=windows\r",
		"PLAIN=last one wins",
	}, "\n"))
	want := map[string]string{
		"PLAIN":        "last one wins",
		"EXPORTED":     "exp",
		"SPACED":       "padded value",
		"COMMENTED":    "value",
		"HASH":         "a#b",
		"DOUBLE":       "two words # not a comment",
		"ESCAPED":      "line1\nline2 \"quoted\" back\\slash",
		"SINGLE":       `literal $HOME \n`,
		"EMPTY":        "",
		"EMPTY_QUOTED": "",
		"PEM":          "-----BEGIN KEY-----\nabc\n-----END KEY-----",
		"EQUALS":       "a=b==",
		"CRLF":         "windows",
	}
	src := File{Path: path}
	for name, value := range want {
		t.Run("reads "+name, func(t *testing.T) {
			v, err := src.Secret(t.Context(), name)
			require.NoError(t, err)
			assert.Equal(t, value, v)
		})
	}

	t.Run("reports a name not in the file as missing", func(t *testing.T) {
		_, err := src.Secret(t.Context(), "NOPE")
		require.ErrorIs(t, err, ErrMissing)
		assert.EqualError(t, err, "secret NOPE missing: not in "+path)
	})

	t.Run("reports every secret missing when the file is", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), ".slipway", "secrets")
		_, err := File{Path: missing}.Secret(t.Context(), "SECRET_KEY_BASE")
		require.ErrorIs(t, err, ErrMissing)
		assert.EqualError(t, err, "secret SECRET_KEY_BASE missing: secrets file "+missing+
			" does not exist; create it with a line SECRET_KEY_BASE=... and keep it out of git")
	})

	t.Run("reads .slipway/secrets by default", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, ".slipway", "secrets"), "TOKEN=t0k\n")
		t.Chdir(dir)
		v, err := File{}.Secret(t.Context(), "TOKEN")
		require.NoError(t, err)
		assert.Equal(t, "t0k", v)
		assert.Equal(t, "secrets file .slipway/secrets", File{}.String())
	})
}

func TestFileRejectsAMalformedFileWithoutQuotingIt(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"a line without =", "OK=1\nhunter2-no-equals\n", "line 2: expected NAME=value"},
		{"an invalid name", "hunter2 value=x\n", `line 1: the name before "=" must be letters, digits and "_", not starting with a digit`},
		{"an unclosed quote", "A=\"hunter2\nmore\n", "line 1: the quoted value has no closing quote"},
		{"text after a quote", "A='hunter2' hunter3\n", "line 1: unexpected text after the closing quote"},
		{"command substitution", "A=$(op read hunter2)\n", "line 1: command substitution is not supported; use secret.Command for a password manager"},
		{"a command over lines", "A=x$(op read\nhunter2)\n", "line 1: command substitution is not supported; use secret.Command for a password manager"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secrets")
			writeFile(t, path, tt.content)
			_, err := File{Path: path}.Secret(t.Context(), "A")
			require.Error(t, err)
			assert.NotErrorIs(t, err, ErrMissing)
			assert.EqualError(t, err, "read secrets file "+path+": "+tt.want)
			assert.NotContains(t, err.Error(), "hunter")
		})
	}
}

// fakePasswordManager returns a command that answers ALPHA, MULTI and
// NONL, prints to stdout before failing for LEAKY, and fails with a
// message for any other name.
func fakePasswordManager(t *testing.T) []string {
	t.Helper()
	script := filepath.Join(t.TempDir(), "fake-pm")
	writeFile(t, script, `case "$1" in
ALPHA) printf 'alpha-value\n' ;;
MULTI) printf 'two\nlines\n\n' ;;
NONL) printf 'no-newline' ;;
LEAKY) printf 'leaked-stdout'; echo "item LEAKY is locked" >&2; exit 2 ;;
*) echo "[ERROR] item $1 not found" >&2; exit 1 ;;
esac
`)
	return []string{"sh", script, "{name}"}
}

func TestCommand(t *testing.T) {
	src := Command{Args: fakePasswordManager(t)}
	for name, want := range map[string]string{
		"ALPHA": "alpha-value",
		"MULTI": "two\nlines\n",
		"NONL":  "no-newline",
	} {
		t.Run("reads "+name+" trimming one newline", func(t *testing.T) {
			v, err := src.Secret(t.Context(), name)
			require.NoError(t, err)
			assert.Equal(t, want, v)
		})
	}

	t.Run("replaces {name} inside an argument", func(t *testing.T) {
		v, err := Command{Args: []string{"echo", "op://prod/{name}/password"}}.Secret(t.Context(), "DB")
		require.NoError(t, err)
		assert.Equal(t, "op://prod/DB/password", v)
	})

	t.Run("reports a failing command as missing, quoting its stderr but never its stdout", func(t *testing.T) {
		var stderr bytes.Buffer
		_, err := Command{Args: fakePasswordManager(t), Stderr: &stderr}.Secret(t.Context(), "LEAKY")
		require.ErrorIs(t, err, ErrMissing)
		assert.Contains(t, err.Error(), "exited with status 2: item LEAKY is locked")
		assert.NotContains(t, err.Error(), "leaked-stdout")
		assert.Equal(t, "item LEAKY is locked\n", stderr.String(), "stderr is shown as it runs")
	})

	t.Run("refuses a command without {name}", func(t *testing.T) {
		_, err := Command{Args: []string{"echo", "same"}}.Secret(t.Context(), "A")
		require.Error(t, err)
		assert.NotErrorIs(t, err, ErrMissing)
		assert.Contains(t, err.Error(), `holds "{name}"`)
	})

	t.Run("reports a command that cannot start", func(t *testing.T) {
		_, err := Command{Args: []string{"/nonexistent/pm", "{name}"}}.Secret(t.Context(), "A")
		require.Error(t, err)
		assert.NotErrorIs(t, err, ErrMissing)
		assert.Contains(t, err.Error(), "secret A: run /nonexistent/pm A")
	})

	t.Run("stops with the context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := Command{Args: []string{"sleep", "10", "{name}"}}.Secret(ctx, "A")
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestChain(t *testing.T) {
	first := mapSource{"A": "from-first"}
	second := mapSource{"A": "from-second", "B": "b-second"}

	t.Run("takes the first source that has the secret", func(t *testing.T) {
		src := Chain{first, nil, second}
		a, err := src.Secret(t.Context(), "A")
		require.NoError(t, err)
		assert.Equal(t, "from-first", a)
		b, err := src.Secret(t.Context(), "B")
		require.NoError(t, err)
		assert.Equal(t, "b-second", b)

		a, err = Chain{second, first}.Secret(t.Context(), "A")
		require.NoError(t, err)
		assert.Equal(t, "from-second", a)
	})
	t.Run("says where it looked when no source has it", func(t *testing.T) {
		_, err := Chain{first, Env{}}.Secret(t.Context(), "SLIPWAY_TEST_NOWHERE")
		require.ErrorIs(t, err, ErrMissing)
		assert.EqualError(t, err, "secret SLIPWAY_TEST_NOWHERE missing: not in the map; not set in the environment")
	})
	t.Run("stops at a source that fails", func(t *testing.T) {
		broken := Func(func(context.Context, string) (string, error) { return "", errors.New("vault sealed") })
		_, err := Chain{broken, second}.Secret(t.Context(), "A")
		require.EqualError(t, err, "vault sealed")
	})
	t.Run("misses everything without sources", func(t *testing.T) {
		_, err := Chain{}.Secret(t.Context(), "A")
		require.ErrorIs(t, err, ErrMissing)
	})
}

// appSecretNames are the names deploy's tests give an app: its own, and a role's.
var appSecretNames = []string{"SECRET_KEY_BASE", "LITESTREAM_SECRET_ACCESS_KEY", "JOBS_TOKEN"}

func TestSecretValuesNeverAppearInErrors(t *testing.T) {
	values := []string{"alpha-value", "leaked-stdout", "hunter2", "jt-value"}
	dir := t.TempDir()
	badFile := filepath.Join(dir, "bad")
	writeFile(t, badFile, "A=\"hunter2\n")
	noEquals := filepath.Join(dir, "noequals")
	writeFile(t, noEquals, "hunter2\n")
	chatty := Func(func(_ context.Context, name string) (string, error) {
		if name == "JOBS_TOKEN" {
			return "jt-value", nil
		}
		return "", fmt.Errorf("backend failed after returning jt-value for another name")
	})

	errs := map[string]func() error{
		"a failing command": func() error {
			_, err := Command{Args: fakePasswordManager(t)}.Secret(t.Context(), "LEAKY")
			return err
		},
		"a chain over a failing command": func() error {
			_, err := Chain{Command{Args: fakePasswordManager(t)}, Env{}}.Secret(t.Context(), "LEAKY")
			return err
		},
		"an unclosed quote": func() error {
			_, err := File{Path: badFile}.Secret(t.Context(), "A")
			return err
		},
		"a line without =": func() error {
			_, err := File{Path: noEquals}.Secret(t.Context(), "A")
			return err
		},
		"resolving with a failing command": func() error {
			_, err := Resolve(t.Context(), Command{Args: fakePasswordManager(t)}, appSecretNames)
			return err
		},
		"resolving with a source that quotes a value": func() error {
			_, err := Resolve(t.Context(), chatty, appSecretNames)
			return err
		},
	}
	for name, f := range errs {
		t.Run(name, func(t *testing.T) {
			err := f()
			require.Error(t, err)
			for _, v := range values {
				assert.NotContains(t, err.Error(), v)
			}
		})
	}
}
