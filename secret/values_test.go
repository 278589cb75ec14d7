package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedactCatchesQuotedForms(t *testing.T) {
	secret := `pa"ss\word<&>`
	s := Values{"DB_PASSWORD": secret}
	js, err := json.Marshal(map[string]string{"error": "dsn=" + secret})
	require.NoError(t, err)
	for _, text := range []string{
		"dsn=" + secret,
		fmt.Sprintf("dsn=%q", secret),
		fmt.Sprintf("dsn=%+q", secret),
		string(js),
	} {
		got := s.Redact(text)
		assert.NotContains(t, got, "word", "Redact(%s) = %s", text, got)
		assert.Contains(t, got, Redacted, text)
	}
}

func TestValuesRedact(t *testing.T) {
	s := Values{"A": "hunter2", "B": "hunter2-long", "C": "", "D": "ter2-lo", "E": "xyz", "PEM": "-----BEGIN-----\nkey-material-line\n}"}
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
	assert.Equal(t, "x", Values(nil).Redact("x"))
	assert.Equal(t, "x", Values{"A": ""}.Redact("x"), "an empty value redacts nothing")
}

func TestValuesPrintNamesOnly(t *testing.T) {
	s := Values{"B": "hunter2", "A": "hunter3"}
	for _, verb := range []string{"%v", "%s", "%+v", "%#v"} {
		out := fmt.Sprintf(verb, s)
		assert.NotContains(t, out, "hunter", verb)
		assert.Contains(t, out, "A B", verb)
	}
}

func TestValuesWriter(t *testing.T) {
	s := Values{"A": "hunter2", "B": "correct-horse"}
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
		w := Values{}.Writer(&out)
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
