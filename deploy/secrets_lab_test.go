package deploy_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/magefile/mage/mg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/secret"
	"github.com/slipwayhq/slipway/targets"
)

// leakySecrets are the values a test app prints at boot. Each starts with
// a random mark, which any part of it that leaked would show.
func leakySecrets(t *testing.T) map[string]string {
	mark := func() string {
		b := make([]byte, 6)
		rand.Read(b)
		return "m" + hex.EncodeToString(b)
	}
	return map[string]string{
		// The log line's prefix is about 72 characters, so a value this
		// long straddles the report's 120-character clip.
		"straddling the clip": mark() + "-" + strings.Repeat("straddle", 12),
		`holding " and \`:     mark() + `-pa"ss\wo\rd"\\-end`,
	}
}

// assertNoPartOf checks that no part of value that identifies it (its
// random mark), raw or escaped, is in text.
func assertNoPartOf(t *testing.T, value, text, where string) {
	t.Helper()
	assert.NotContains(t, text, value[:13], "a part of the secret is in the %s:\n%s", where, text)
}

// TestSecretsNeverLeaveAFailedDeploy boots a test app that prints its
// secret, as an app that logs its DSN at boot does, and then fails: its
// migration, or its health gate. The secret is in neither the returned
// error, nor what the Mage target prints to stderr, nor the output, nor
// the audit log; nor in the logs `mage logs` shows from a new session.
func TestSecretsNeverLeaveAFailedDeploy(t *testing.T) {
	l := lab.Require(t, 1)
	image := lab.RequireTestAppSource(t, l.Hosts[:1])
	version := strings.TrimPrefix(image, lab.TestAppImage+":")
	for name, value := range leakySecrets(t) {
		t.Run(name, func(t *testing.T) {
			a, _ := labApp(t, 1)
			a.Env = deploy.Env{Secret: []string{"APP_DSN"}, Clear: map[string]string{"LEAK_ENV": "APP_DSN"}}
			a.Roles["web"].Proxy.DeployTimeout = 4 * time.Second
			a.Roles["web"].Proxy.Health = health.HTTP{Path: "/up", Interval: 100 * time.Millisecond, Timeout: time.Second, Deadline: 4 * time.Second}
			t.Setenv("APP_DSN", value)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			host := l.Hosts[0]
			auditLog := func() string {
				res, err := host.Dial(t).Run(ctx, "cat "+deploy.AuditPath(a)+" 2>/dev/null || true", nil)
				require.NoError(t, err)
				return string(res.Stdout)
			}

			t.Run("a failed migration", func(t *testing.T) {
				m := a
				m.Migrate = &deploy.Migrate{Cmd: []string{"fail"}}
				var out syncBuffer
				_, err := connect(t, m, &out).Deploy(ctx, deploy.Release{Version: version})
				require.Error(t, err)
				require.Contains(t, err.Error(), "config APP_DSN="+secret.Redacted, "the error still shows the migration's last lines")
				assertNoPartOf(t, value, err.Error(), "returned error")
				assertNoPartOf(t, value, out.String(), "output")
				assertNoPartOf(t, value, auditLog(), "audit log")
			})

			t.Run("a failed gate, through the Mage target", func(t *testing.T) {
				g := a
				g.Env.Clear = map[string]string{"LEAK_ENV": "APP_DSN", "UP_FAIL": "1"}
				var out syncBuffer
				targets.Use(targets.Config{App: g, Options: deploy.Options{Output: &out, Performer: "tester"}})
				err := targets.Deploy(ctx, &version, nil)
				require.Error(t, err)
				assert.Equal(t, targets.ExitGateFailed, mg.ExitStatus(err))
				stderr := err.Error() // what Mage prints
				require.Contains(t, stderr, "did not become healthy")
				require.Contains(t, stderr, "is on APP_DSN="+secret.Redacted[:5], "the report still shows the app's log")
				assertNoPartOf(t, value, stderr, "Mage target's stderr")
				assertNoPartOf(t, value, out.String(), "output")
				assertNoPartOf(t, value, auditLog(), "audit log")

				var gateOut syncBuffer
				_, err = connect(t, g, &gateOut).Deploy(ctx, deploy.Release{Version: version})
				require.ErrorIs(t, err, deploy.ErrGateFailed)
				assertNoPartOf(t, value, err.Error(), "returned error")
				var be *deploy.BootError
				require.ErrorAs(t, err, &be)
				assertNoPartOf(t, value, be.Error(), "BootError itself, read past the session's wrapper")
			})

			t.Run("logs from a session that deployed nothing", func(t *testing.T) {
				var out syncBuffer
				_, err := connect(t, a, &out).Deploy(ctx, deploy.Release{Version: version})
				require.NoError(t, err, out.String())
				var logs syncBuffer
				targets.Use(targets.Config{App: a, Options: deploy.Options{Output: &logs}})
				tail, follow := 50, false
				require.NoError(t, targets.Logs(ctx, &tail, &follow, nil, nil, nil))
				require.Contains(t, logs.String(), "config APP_DSN="+secret.Redacted)
				assertNoPartOf(t, value, logs.String(), "logs")
			})
		})
	}
}

func TestEnginePreflight(t *testing.T) {
	a, _ := labApp(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := connect(t, a, &syncBuffer{})
	require.NoError(t, s.CheckEngines(ctx), "the lab's engines are new enough")
	d, err := s.Details(ctx)
	require.NoError(t, err)
	for _, h := range d.Hosts {
		assert.NotEmpty(t, h.Engine.Server, h.Host)
		assert.NoError(t, h.EngineErr, h.Host)
		assert.NoError(t, h.Engine.Check())
	}
	assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(d.Hosts[0].Host)+` +`+regexp.QuoteMeta(d.Hosts[0].Engine.Server)+` +\S+ +yes$`, d.String())
}
