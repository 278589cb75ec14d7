package deploy

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/secret"
)

func TestAccessoryDetails(t *testing.T) {
	t.Run("finds the newest error line", func(t *testing.T) {
		lines := []string{
			`time=… level=ERROR msg="replication refused" err="lease held"`,
			`time=… level=INFO msg=replicating`,
			`time=… level=ERROR msg="sync failed" err="connection refused"`,
			`time=… level=INFO msg="lease renewed"`,
		}
		assert.Equal(t, `time=… level=ERROR msg="sync failed" err="connection refused"`, lastErrorLine(lines))
		assert.Empty(t, lastErrorLine(lines[1:2]))
	})
	t.Run("redacts the error line it shows", func(t *testing.T) {
		s := testSession(&bytes.Buffer{})
		s.out.redact(secret.Values{"LITESTREAM_SECRET_ACCESS_KEY": "s3-secret-9"})
		got := s.lastError([]string{`level=ERROR msg="sync failed" err="signature for key s3-secret-9 does not match"`})
		assert.NotContains(t, got, "s3-secret-9")
		assert.Equal(t, `level=ERROR msg="sync failed" err="signature for key [redacted] does not match"`, got)
	})
	t.Run("is failing when missing, stopped, restarted or logging errors", func(t *testing.T) {
		well := AccessoryDetails{State: engine.StateRunning}
		assert.False(t, well.Failing())
		for name, a := range map[string]AccessoryDetails{
			"missing":   {},
			"stopped":   {State: engine.StateExited, ExitCode: 1},
			"restarted": {State: engine.StateRunning, Restarts: 2},
			"erroring":  {State: engine.StateRunning, LastError: "level=ERROR msg=x"},
		} {
			assert.True(t, a.Failing(), name)
		}
	})
	t.Run("prints a row per accessory and its last error", func(t *testing.T) {
		now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
		d := Details{Time: now, Hosts: []HostDetails{{Host: "10.0.0.1", Accessories: []AccessoryDetails{
			{Name: "litestream-web", Container: "hello-litestream-web", Image: "slipway/litestream:v0.5.18",
				State: engine.StateExited, ExitCode: 1, FinishedAt: now.Add(-time.Minute), LastError: "level=ERROR msg=\"replication refused\""},
			{Name: "cache", Container: "hello-cache", Image: "redis:7"},
		}}}}
		var b strings.Builder
		writeAccessories(&b, d)
		assert.Contains(t, b.String(), "litestream-web")
		assert.Contains(t, b.String(), "exit 1, 1 minute ago")
		assert.Contains(t, b.String(), "missing")
		assert.Contains(t, b.String(), `10.0.0.1 litestream-web last logged: level=ERROR msg="replication refused"`)
	})
}
