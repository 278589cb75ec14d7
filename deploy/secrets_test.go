package deploy

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

// sourceFunc makes a SecretSource of a func, for tests.
type sourceFunc func(ctx context.Context, name string) (string, error)

func (f sourceFunc) Secret(ctx context.Context, name string) (string, error) { return f(ctx, name) }

// mapSource has the secrets in its map and misses every other.
type mapSource map[string]string

func (m mapSource) Secret(_ context.Context, name string) (string, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	return "", &missingSecretError{name, "not in the map"}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
}

func TestEnvSecrets(t *testing.T) {
	t.Setenv("SLIPWAY_TEST_SECRET", "s3cret")
	t.Setenv("SLIPWAY_TEST_EMPTY", "")

	v, err := EnvSecrets{}.Secret(t.Context(), "SLIPWAY_TEST_SECRET")
	require.NoError(t, err)
	assert.Equal(t, "s3cret", v)

	t.Run("counts a variable set empty as present", func(t *testing.T) {
		v, err := EnvSecrets{}.Secret(t.Context(), "SLIPWAY_TEST_EMPTY")
		require.NoError(t, err)
		assert.Empty(t, v)
	})
	t.Run("reports an unset variable as missing", func(t *testing.T) {
		_, err := EnvSecrets{}.Secret(t.Context(), "SLIPWAY_TEST_UNSET")
		require.ErrorIs(t, err, ErrSecretMissing)
		assert.EqualError(t, err, "secret SLIPWAY_TEST_UNSET missing: not set in the environment")
	})
}

func TestFileSecrets(t *testing.T) {
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
	src := FileSecrets{Path: path}
	for name, value := range want {
		t.Run("reads "+name, func(t *testing.T) {
			v, err := src.Secret(t.Context(), name)
			require.NoError(t, err)
			assert.Equal(t, value, v)
		})
	}

	t.Run("reports a name not in the file as missing", func(t *testing.T) {
		_, err := src.Secret(t.Context(), "NOPE")
		require.ErrorIs(t, err, ErrSecretMissing)
		assert.EqualError(t, err, "secret NOPE missing: not in "+path)
	})

	t.Run("reports every secret missing when the file is", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), ".slipway", "secrets")
		_, err := FileSecrets{Path: missing}.Secret(t.Context(), "SECRET_KEY_BASE")
		require.ErrorIs(t, err, ErrSecretMissing)
		assert.EqualError(t, err, "secret SECRET_KEY_BASE missing: secrets file "+missing+
			" does not exist; create it with a line SECRET_KEY_BASE=... and keep it out of git")
	})

	t.Run("reads .slipway/secrets by default", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, ".slipway", "secrets"), "TOKEN=t0k\n")
		t.Chdir(dir)
		v, err := FileSecrets{}.Secret(t.Context(), "TOKEN")
		require.NoError(t, err)
		assert.Equal(t, "t0k", v)
		assert.Equal(t, "secrets file .slipway/secrets", FileSecrets{}.String())
	})
}

func TestFileSecretsRejectsAMalformedFileWithoutQuotingIt(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"a line without =", "OK=1\nhunter2-no-equals\n", "line 2: expected NAME=value"},
		{"an invalid name", "hunter2 value=x\n", `line 1: the name before "=" must be letters, digits and "_", not starting with a digit`},
		{"an unclosed quote", "A=\"hunter2\nmore\n", "line 1: the quoted value has no closing quote"},
		{"text after a quote", "A='hunter2' hunter3\n", "line 1: unexpected text after the closing quote"},
		{"command substitution", "A=$(op read hunter2)\n", "line 1: command substitution is not supported; use CommandSecrets for a password manager"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secrets")
			writeFile(t, path, tt.content)
			_, err := FileSecrets{Path: path}.Secret(t.Context(), "A")
			require.Error(t, err)
			assert.NotErrorIs(t, err, ErrSecretMissing)
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

func TestCommandSecrets(t *testing.T) {
	src := CommandSecrets{Command: fakePasswordManager(t)}
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
		v, err := CommandSecrets{Command: []string{"echo", "op://prod/{name}/password"}}.Secret(t.Context(), "DB")
		require.NoError(t, err)
		assert.Equal(t, "op://prod/DB/password", v)
	})

	t.Run("reports a failing command as missing, quoting its stderr but never its stdout", func(t *testing.T) {
		var stderr bytes.Buffer
		_, err := CommandSecrets{Command: fakePasswordManager(t), Stderr: &stderr}.Secret(t.Context(), "LEAKY")
		require.ErrorIs(t, err, ErrSecretMissing)
		assert.Contains(t, err.Error(), "exited with status 2: item LEAKY is locked")
		assert.NotContains(t, err.Error(), "leaked-stdout")
		assert.Equal(t, "item LEAKY is locked\n", stderr.String(), "stderr is shown as it runs")
	})

	t.Run("refuses a command without {name}", func(t *testing.T) {
		_, err := CommandSecrets{Command: []string{"echo", "same"}}.Secret(t.Context(), "A")
		require.Error(t, err)
		assert.NotErrorIs(t, err, ErrSecretMissing)
		assert.Contains(t, err.Error(), `holds "{name}"`)
	})

	t.Run("reports a command that cannot start", func(t *testing.T) {
		_, err := CommandSecrets{Command: []string{"/nonexistent/pm", "{name}"}}.Secret(t.Context(), "A")
		require.Error(t, err)
		assert.NotErrorIs(t, err, ErrSecretMissing)
		assert.Contains(t, err.Error(), "secret A: run /nonexistent/pm A")
	})

	t.Run("stops with the context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := CommandSecrets{Command: []string{"sleep", "10", "{name}"}}.Secret(ctx, "A")
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestChain(t *testing.T) {
	first := mapSource{"A": "from-first"}
	second := mapSource{"A": "from-second", "B": "b-second"}

	t.Run("takes the first source that has the secret", func(t *testing.T) {
		src := Chain(first, nil, second)
		a, err := src.Secret(t.Context(), "A")
		require.NoError(t, err)
		assert.Equal(t, "from-first", a)
		b, err := src.Secret(t.Context(), "B")
		require.NoError(t, err)
		assert.Equal(t, "b-second", b)

		a, err = Chain(second, first).Secret(t.Context(), "A")
		require.NoError(t, err)
		assert.Equal(t, "from-second", a)
	})
	t.Run("says where it looked when no source has it", func(t *testing.T) {
		_, err := Chain(first, EnvSecrets{}).Secret(t.Context(), "SLIPWAY_TEST_NOWHERE")
		require.ErrorIs(t, err, ErrSecretMissing)
		assert.EqualError(t, err, "secret SLIPWAY_TEST_NOWHERE missing: not in the map; not set in the environment")
	})
	t.Run("stops at a source that fails", func(t *testing.T) {
		broken := sourceFunc(func(context.Context, string) (string, error) { return "", errors.New("vault sealed") })
		_, err := Chain(broken, second).Secret(t.Context(), "A")
		require.EqualError(t, err, "vault sealed")
	})
	t.Run("misses everything without sources", func(t *testing.T) {
		_, err := Chain().Secret(t.Context(), "A")
		require.ErrorIs(t, err, ErrSecretMissing)
	})
}

func secretsApp(src SecretSource) App {
	a := validApp()
	a.Secrets = src
	a.Env.Secret = []string{"SECRET_KEY_BASE", "LITESTREAM_SECRET_ACCESS_KEY"}
	a.Roles["jobs"].Env.Secret[0] = "JOBS_TOKEN"
	return a
}

func TestResolveSecrets(t *testing.T) {
	t.Run("resolves the app's and every role's secrets", func(t *testing.T) {
		var asked []string
		src := sourceFunc(func(_ context.Context, name string) (string, error) {
			asked = append(asked, name)
			return "value-of-" + name, nil
		})
		got, err := ResolveSecrets(t.Context(), secretsApp(src))
		require.NoError(t, err)
		assert.Equal(t, []string{"JOBS_TOKEN", "LITESTREAM_SECRET_ACCESS_KEY", "SECRET_KEY_BASE"}, asked, "once each, in order")
		assert.Equal(t, Secrets{
			"JOBS_TOKEN":                   "value-of-JOBS_TOKEN",
			"LITESTREAM_SECRET_ACCESS_KEY": "value-of-LITESTREAM_SECRET_ACCESS_KEY",
			"SECRET_KEY_BASE":              "value-of-SECRET_KEY_BASE",
		}, got)
	})

	t.Run("reads the environment when the app names no source", func(t *testing.T) {
		t.Setenv("SECRET_KEY_BASE", "env-skb")
		t.Setenv("LITESTREAM_SECRET_ACCESS_KEY", "env-ls")
		t.Setenv("JOBS_TOKEN", "env-jobs")
		got, err := ResolveSecrets(t.Context(), secretsApp(nil))
		require.NoError(t, err)
		assert.Equal(t, "env-skb", got["SECRET_KEY_BASE"])
	})

	t.Run("names every missing secret in one error", func(t *testing.T) {
		_, err := ResolveSecrets(t.Context(), secretsApp(mapSource{"JOBS_TOKEN": "jt"}))
		require.ErrorIs(t, err, ErrSecretMissing)
		var missing *MissingSecretsError
		require.ErrorAs(t, err, &missing)
		assert.Equal(t, []string{"LITESTREAM_SECRET_ACCESS_KEY", "SECRET_KEY_BASE"}, missing.Names)
		assert.EqualError(t, err, "2 secrets missing: LITESTREAM_SECRET_ACCESS_KEY, SECRET_KEY_BASE\n"+
			"  LITESTREAM_SECRET_ACCESS_KEY: not in the map\n"+
			"  SECRET_KEY_BASE: not in the map")
	})

	t.Run("reports failures beside missing secrets", func(t *testing.T) {
		src := sourceFunc(func(_ context.Context, name string) (string, error) {
			if name == "JOBS_TOKEN" {
				return "", errors.New("vault sealed")
			}
			return "", &missingSecretError{name, "nowhere"}
		})
		_, err := ResolveSecrets(t.Context(), secretsApp(src))
		require.ErrorIs(t, err, ErrSecretMissing)
		assert.Contains(t, err.Error(), "2 secrets missing")
		assert.Contains(t, err.Error(), "vault sealed")
	})
}

func TestSecretValuesNeverAppearInErrors(t *testing.T) {
	values := []string{"alpha-value", "leaked-stdout", "hunter2", "jt-value"}
	dir := t.TempDir()
	badFile := filepath.Join(dir, "bad")
	writeFile(t, badFile, "A=\"hunter2\n")
	noEquals := filepath.Join(dir, "noequals")
	writeFile(t, noEquals, "hunter2\n")
	chatty := sourceFunc(func(_ context.Context, name string) (string, error) {
		if name == "JOBS_TOKEN" {
			return "jt-value", nil
		}
		return "", fmt.Errorf("backend failed after returning jt-value for another name")
	})

	errs := map[string]func() error{
		"a failing command": func() error {
			_, err := CommandSecrets{Command: fakePasswordManager(t)}.Secret(t.Context(), "LEAKY")
			return err
		},
		"a chain over a failing command": func() error {
			_, err := Chain(CommandSecrets{Command: fakePasswordManager(t)}, EnvSecrets{}).Secret(t.Context(), "LEAKY")
			return err
		},
		"an unclosed quote": func() error {
			_, err := FileSecrets{Path: badFile}.Secret(t.Context(), "A")
			return err
		},
		"a line without =": func() error {
			_, err := FileSecrets{Path: noEquals}.Secret(t.Context(), "A")
			return err
		},
		"resolving with a failing command": func() error {
			_, err := ResolveSecrets(t.Context(), secretsApp(CommandSecrets{Command: fakePasswordManager(t)}))
			return err
		},
		"resolving with a source that quotes a value": func() error {
			_, err := ResolveSecrets(t.Context(), secretsApp(chatty))
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

func TestSecretsRedact(t *testing.T) {
	s := Secrets{"A": "hunter2", "B": "hunter2-long", "C": "", "D": "ter2-lo", "E": "xyz", "PEM": "-----BEGIN-----\nkey-material-line\n}"}
	tests := []struct{ in, want string }{
		{"nothing here", "nothing here"},
		{"pw=hunter2.", "pw=[redacted]."},
		{"long=hunter2-long!", "long=[redacted]!"},
		{"twice hunter2 hunter2", "twice [redacted] [redacted]"},
		{"adjacent hunter2xyz", "adjacent [redacted]"},
		{"overlap hunter2-lo", "overlap [redacted]"},
		{"pem -----BEGIN-----\nkey-material-line\n} end", "pem [redacted] end"},
		{"one line of it: key-material-line", "one line of it: [redacted]"},
		{"short lines stay: }", "short lines stay: }"},
		{"", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, s.Redact(tt.in), "Redact(%q)", tt.in)
	}
	assert.Equal(t, "x", Secrets(nil).Redact("x"))
	assert.Equal(t, "x", Secrets{"A": ""}.Redact("x"), "an empty value redacts nothing")
}

func TestSecretsPrintNamesOnly(t *testing.T) {
	s := Secrets{"B": "hunter2", "A": "hunter3"}
	for _, verb := range []string{"%v", "%s", "%+v", "%#v"} {
		out := fmt.Sprintf(verb, s)
		assert.NotContains(t, out, "hunter", verb)
		assert.Contains(t, out, "A B", verb)
	}
}

func TestSecretsWriter(t *testing.T) {
	s := Secrets{"A": "hunter2", "B": "correct-horse"}
	text := "starting\npassword hunter2 and correct-horse\nhunter2hunter2\nno newline at the end: correct-horse"
	want := s.Redact(text)
	require.NotContains(t, want, "hunter2")

	t.Run("redacts values split across any two writes", func(t *testing.T) {
		for i := range len(text) + 1 {
			for j := i; j <= len(text); j += 3 {
				var out bytes.Buffer
				w := s.Writer(&out)
				for _, part := range []string{text[:i], text[i:j], text[j:]} {
					n, err := w.Write([]byte(part))
					require.NoError(t, err)
					require.Equal(t, len(part), n)
				}
				require.NoError(t, w.Close())
				require.Equal(t, want, out.String(), "split at %d and %d", i, j)
			}
		}
	})

	t.Run("passes each finished line on at once", func(t *testing.T) {
		var out bytes.Buffer
		w := s.Writer(&out)
		_, _ = w.Write([]byte("line one hunter2\nline tw"))
		assert.Equal(t, "line one [redacted]\n", out.String())
		_, _ = w.Write([]byte("o\rprogress 50%"))
		assert.Equal(t, "line one [redacted]\nline two\r", out.String())
		require.NoError(t, w.Close())
		assert.Equal(t, "line one [redacted]\nline two\rprogress 50%", out.String())
	})

	t.Run("passes a very long line on in pieces without cutting a value", func(t *testing.T) {
		long := strings.Repeat("x", maxPending-3) + "hunter2" + strings.Repeat("y", maxPending) + "correct-horse" + "zz"
		for _, size := range []int{1, 7, 4093, maxPending + 1, 3 * maxPending} {
			long := long
			if size > maxPending {
				long = "a finished line with hunter2\n" + long
			}
			var out bytes.Buffer
			w := s.Writer(&out)
			for chunk := range chunks(long, size) {
				_, err := w.Write([]byte(chunk))
				require.NoError(t, err)
			}
			assert.NotEmpty(t, out.String(), "output flows before the line ends")
			require.NoError(t, w.Close())
			assert.Equal(t, s.Redact(long), out.String(), "in writes of %d bytes", size)
		}
	})

	t.Run("passes output through at once without secrets", func(t *testing.T) {
		var out bytes.Buffer
		w := Secrets{}.Writer(&out)
		_, _ = w.Write([]byte("partial"))
		assert.Equal(t, "partial", out.String())
	})
}

func chunks(s string, n int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}
