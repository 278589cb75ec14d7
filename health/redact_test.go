package health_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/health"
)

// replacer is a Redactor of fixed values, for tests.
type replacer []string

func (r replacer) Redact(text string) string {
	for _, v := range r {
		text = strings.ReplaceAll(text, v, "[redacted]")
	}
	return text
}

func TestTriesRedactWhatTheyCapture(t *testing.T) {
	tests := []struct{ name, secret, before string }{
		{"a secret straddling the excerpt's cut", "straddling-secret-0123456789", strings.Repeat("x", health.ExcerptLimit-8)},
		{`a secret holding " and \`, `quo"te\back\slash-secret`, "dsn="},
		{"a secret straddling the screen's width", "wide-secret-0123456789", strings.Repeat("y", health.ScreenWidth-50)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := app(t, func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, tt.before+tt.secret+" more", http.StatusServiceUnavailable)
			})
			gate := health.HTTP{Deadline: 300 * time.Millisecond, Interval: 100 * time.Millisecond}
			res, err := health.Wait(t.Context(), gate, health.URL(srv.URL).WithRedactor(replacer{tt.secret}))
			require.Error(t, err)
			require.NotEmpty(t, res.Last)
			report := fmt.Sprint(res.Last[0].Body, "\n", res, "\n", &health.GateError{Result: res})
			assert.NotContains(t, report, tt.secret[:6])
			assert.Contains(t, res.Last[0].Body, "[redact")

		})
	}
}

func TestDiagnosticsRedact(t *testing.T) {
	secret := "log-secret-0123456789"
	d := health.Diagnostics{Container: "app-web-v2",
		Logs:    []string{strings.Repeat("z", health.ScreenWidth-10) + secret, "ok"},
		LogsErr: nil}
	d.State.Error = "mount " + secret
	got := d.Redact(replacer{secret})
	assert.Equal(t, "ok", got.Logs[1])
	assert.NotContains(t, got.String(), "log-se")
	assert.NotContains(t, got.State.Error, secret)
	assert.Contains(t, d.Logs[0], secret, "the original is left as it was")
	assert.Equal(t, d, d.Redact(nil))
}
