package deploy_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/ssh"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/internal/lab"
)

// A container that writes 50 MB of logs keeps its log file at or under
// the cap: the one a role sets, and Kamal's 10m default when none is set.
func TestLogsStayUnderTheirCap(t *testing.T) {
	a, l := labApp(t, 1)
	a.Service = "limits-logs" + strings.TrimPrefix(a.Service, "t")
	h := l.Hosts[0]
	lab.CleanupService(t, l.Hosts[:1], a.Service)
	image := lab.RequireTestAppSource(t, l.Hosts[:1]) // the test app with its logs mode
	const written = 50_000_000                        // bytes of log lines each container writes
	worker := func(logging deploy.Logging) deploy.Role {
		return deploy.Role{
			Servers: a.Roles["web"].Servers,
			Cmd:     []string{"logs", strconv.Itoa(written)},
			Logging: logging,
			// /up answers once every line is out: the gate waits for the writing.
			Health: health.HTTP{Path: "/up", Port: lab.TestAppPort, Interval: 200 * time.Millisecond, Deadline: 4 * time.Minute},
		}
	}
	a.Roles = deploy.Roles{
		"capped":  worker(deploy.Logging{Options: map[string]string{"max-size": "1m"}}),
		"default": worker(deploy.Logging{}),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connect(t, a, &out)
	start := time.Now()
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1", Image: image})
	require.NoError(t, err, out.String())
	t.Logf("two containers wrote %d MB of log lines each; deploy took %s", written/1_000_000, time.Since(start).Round(time.Millisecond))

	e := h.Engine(t)
	c := h.Dial(t)
	last := "log line " + fmt.Sprintf("%09d", written/100-1) // 100-byte lines
	for _, tc := range []struct {
		role    string
		maxSize int64 // as the engine reads max-size: "1m" is 10^6 bytes
	}{{"capped", 1_000_000}, {"default", 10_000_000}} {
		t.Run(tc.role, func(t *testing.T) {
			name := deploy.ContainerName(a, tc.role, "v1")
			ctr, err := e.Inspect(ctx, name)
			require.NoError(t, err)
			require.NotEmpty(t, ctr.LogPath, "the json-file driver keeps a log file")
			lines, err := e.Tail(ctx, name, 200)
			require.NoError(t, err)
			assert.Contains(t, strings.Join(lines, "\n"), last, "every line went through the driver")

			res, err := c.Run(ctx, "stat -c '%n %s' "+ssh.Quote(ctr.LogPath)+"*", nil)
			require.NoError(t, err)
			var total int64
			var files []string
			for _, line := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
				path, sz, _ := strings.Cut(line, " ")
				size, err := strconv.ParseInt(sz, 10, 64)
				require.NoError(t, err)
				// The driver rotates before the write that crosses max-size: a file
				// may pass it by one log entry, a line and its JSON.
				assert.LessOrEqual(t, size, tc.maxSize+1024, "%s stays at the cap", path)
				total += size
				files = append(files, fmt.Sprintf("%s %d bytes", path[strings.LastIndex(path, "-")+1:], size))
			}
			assert.LessOrEqual(t, len(files), 2, "max-file 1: the file written and one rotated")
			t.Logf("%s: %d bytes of log lines written; on the host %s (max-size %d bytes), %d bytes in all",
				tc.role, written, strings.Join(files, ", "), tc.maxSize, total)
		})
	}
}

// A role's StopTimeout is what the engine waits before it kills the
// role's containers: the test app's "ignore-term" mode ignores SIGTERM,
// so stop-old must end it with SIGKILL after the role's 2s instead of
// DefaultStopTimeout's 30s.
func TestStopOldWaitsTheRolesStopTimeout(t *testing.T) {
	a, l := labApp(t, 1)
	a.Service = "limits-stop" + strings.TrimPrefix(a.Service, "t")
	h := l.Hosts[0]
	lab.CleanupService(t, l.Hosts[:1], a.Service)
	a.Roles = deploy.Roles{"worker": {
		Servers:     a.Roles["web"].Servers,
		Cmd:         []string{"ignore-term"},
		StopTimeout: 2 * time.Second,
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connect(t, a, &out)
	image := lab.RequireTestAppSource(t, l.Hosts[:1]) // the test app with its ignore-term mode
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1", Image: image})
	require.NoError(t, err, out.String())
	rep, err := s.Deploy(ctx, deploy.Release{Version: "v2", Image: image})
	require.NoError(t, err, out.String())

	e := h.Engine(t)
	old, err := e.Inspect(ctx, deploy.ContainerName(a, "worker", "v1"))
	require.NoError(t, err)
	assert.Equal(t, 137, old.ExitCode, "the engine killed what ignored SIGTERM")
	var stopOld time.Duration
	for _, st := range rep.Steps {
		if st.Step.Kind == deploy.StepStopOld {
			stopOld = st.Duration
		}
	}
	// The engine keeps the timeout with the container, for any stop of it.
	cur, err := e.Inspect(ctx, deploy.ContainerName(a, "worker", "v2"))
	require.NoError(t, err)
	res, err := h.Dial(t).Run(ctx, "grep -o '\"StopTimeout\":[0-9]*' "+ssh.Quote(strings.TrimSuffix(cur.LogPath, cur.ID+"-json.log")+"config.v2.json"), nil)
	require.NoError(t, err)
	assert.Equal(t, `"StopTimeout":2`, strings.TrimSpace(string(res.Stdout)))
	t.Logf("stop-old of a container that ignores SIGTERM took %s with StopTimeout 2s (exit %d)", stopOld.Round(time.Millisecond), old.ExitCode)
}
