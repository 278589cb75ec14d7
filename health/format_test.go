package health_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/health"
)

func refused(n int, at time.Duration) health.Attempt {
	return health.Attempt{Number: n, At: at, Latency: 412 * time.Microsecond,
		Err: errors.New("dial tcp 172.18.0.5:3000: connect: connection refused")}
}

func unavailable(n int, at time.Duration) health.Attempt {
	return health.Attempt{Number: n, At: at, Latency: 2300 * time.Microsecond, Status: "503 Service Unavailable", Code: 503,
		Body: "unhealthy: sqlite\n", Err: errors.New("status 503 is outside 200-399")}
}

func TestAttemptString(t *testing.T) {
	tests := []struct {
		name string
		a    health.Attempt
		want string
	}{
		{"a pass", health.Attempt{Number: 3, At: 2100 * time.Millisecond, Latency: 1200 * time.Microsecond, Passed: true, Status: "200 OK", Code: 200, Body: "ok\n"},
			`#3 +2.1s 1ms 200 OK "ok\n"`},
		{"no answer", refused(1, 0),
			"#1 +0s 412µs dial tcp 172.18.0.5:3000: connect: connection refused"},
		{"a bad status with a body", unavailable(26, 25*time.Second),
			`#26 +25s 2ms 503 Service Unavailable: status 503 is outside 200-399 "unhealthy: sqlite\n"`},
		{"a command's exit", health.Attempt{Number: 2, At: time.Second, Latency: 45 * time.Millisecond, Status: "exit 1", Code: 1, Body: "pending", Err: errors.New("/app exited with code 1")},
			`#2 +1s 45ms exit 1: /app exited with code 1 "pending"`},
		{"a long one is clipped to the screen", health.Attempt{Number: 1, Err: errors.New(strings.Repeat("x", 300))},
			"#1 +0s 0s " + strings.Repeat("x", health.ScreenWidth-11) + "…"},
		{"control characters never reach the terminal", health.Attempt{Number: 1, Err: errors.New("bad\x1b[31m\tred\r\nnext")},
			"#1 +0s 0s bad red  next"},
		{"a tab becomes a space", health.Attempt{Number: 1, Err: errors.New("a\tb")}, "#1 +0s 0s a b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.a.String())
		})
	}
}

func TestResultString(t *testing.T) {
	base := health.Result{Gate: "http GET /up (200-399)", Target: "container app-web-v2:3000 on 203.0.113.10", Deadline: 30 * time.Second}
	tests := []struct {
		name string
		r    func(r health.Result) health.Result
		want string
	}{
		{"passed fits one line", func(r health.Result) health.Result {
			r.Outcome, r.Attempts, r.TimeToHealthy, r.Elapsed = health.OutcomePassed, 3, 2140*time.Millisecond, 2140*time.Millisecond
			return r
		}, "http GET /up (200-399) on container app-web-v2:3000 on 203.0.113.10: passed after 3 attempts in 2.1s"},
		{"a deadline lists the last attempts", func(r health.Result) health.Result {
			r.Outcome, r.Attempts, r.Elapsed = health.OutcomeDeadline, 30, 30*time.Second
			r.Last = []health.Attempt{refused(28, 27*time.Second), unavailable(29, 28*time.Second), unavailable(30, 29*time.Second)}
			return r
		}, `http GET /up (200-399) on container app-web-v2:3000 on 203.0.113.10: deadline 30s reached after 30 attempts
last 3 attempts:
  #28 +27s 412µs dial tcp 172.18.0.5:3000: connect: connection refused
  #29 +28s 2ms 503 Service Unavailable: status 503 is outside 200-399 "unhealthy: sqlite\n"
  #30 +29s 2ms 503 Service Unavailable: status 503 is outside 200-399 "unhealthy: sqlite\n"`},
		{"giving up says why", func(r health.Result) health.Result {
			a := health.Attempt{Number: 1, Latency: 3 * time.Millisecond, Err: fmt.Errorf("%w: container app-web-v2 exited with code 1", health.ErrContainerStopped)}
			r.Outcome, r.Attempts, r.Elapsed, r.Last = health.OutcomeAborted, 1, 3*time.Millisecond, []health.Attempt{a}
			return r
		}, `http GET /up (200-399) on container app-web-v2:3000 on 203.0.113.10: gave up after 1 attempt in 3ms
last 1 attempt:
  #1 +0s 3ms container stopped: container app-web-v2 exited with code 1`},
		{"canceled", func(r health.Result) health.Result {
			r.Outcome, r.Attempts, r.Elapsed = health.OutcomeCanceled, 2, 1500*time.Millisecond
			r.Last = []health.Attempt{refused(1, 0), {Number: 2, At: time.Second, Latency: 500 * time.Millisecond, Err: errors.New("context canceled")}}
			return r
		}, `http GET /up (200-399) on container app-web-v2:3000 on 203.0.113.10: canceled after 2 attempts in 1.5s
last 2 attempts:
  #1 +0s 412µs dial tcp 172.18.0.5:3000: connect: connection refused
  #2 +1s 500ms context canceled`},
		{"not run", func(r health.Result) health.Result {
			r.Err = errors.Join(errors.New("health.http.path: bad"), errors.New("health.http.interval: bad"))
			return r
		}, "http GET /up (200-399) on container app-web-v2:3000 on 203.0.113.10: not run\n  health.http.path: bad\n  health.http.interval: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.r(base).String())
		})
	}
}

func TestDiagnosticsString(t *testing.T) {
	started := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		d    health.Diagnostics
		want string
	}{
		{"an OOM-killed container with its log", health.Diagnostics{
			Container: "app-web-v2",
			State: engine.Container{State: engine.StateExited, ExitCode: 137, OOMKilled: true, RestartCount: 3, Health: engine.HealthUnhealthy,
				StartedAt: started, FinishedAt: started.Add(1200 * time.Millisecond)},
			Logs: []string{"booting v2", "\x1b[31mpanic: out of memory\x1b[0m"},
		}, "container app-web-v2: exited with code 137, OOM-killed, ran 1.2s, 3 restarts, health unhealthy\n" +
			"last 2 lines of the log:\n" +
			"  | booting v2\n" +
			"  | panic: out of memory"},
		{"a running container that restarted", health.Diagnostics{
			Container: "app-web-v2",
			State:     engine.Container{State: engine.StateRunning, ExitCode: 2, RestartCount: 1, Health: engine.HealthStarting, Error: "port is already allocated"},
			Logs:      []string{},
		}, "container app-web-v2: running, last exit code 2, 1 restart, health starting, engine error: port is already allocated\nlog: empty"},
		{"nothing could be read", health.Diagnostics{
			Container: "app-web-v2", InspectErr: errors.New("ssh: connection lost"), LogsErr: errors.New("ssh: connection lost"),
		}, "container app-web-v2: state unknown: ssh: connection lost\nlog unavailable: ssh: connection lost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.d.String())
		})
	}
}

func TestGateErrorFitsOneScreen(t *testing.T) {
	res := health.Result{
		Gate: "http GET /up (200-399)", Target: "container app-web-v2:3000 on 203.0.113.10",
		Outcome: health.OutcomeDeadline, Attempts: 30, Elapsed: 30 * time.Second, Deadline: 30 * time.Second,
		Err: fmt.Errorf("health gate ...: %w", health.ErrDeadline),
	}
	for i := range health.KeptAttempts {
		res.Last = append(res.Last, unavailable(26+i, time.Duration(25+i)*time.Second))
	}
	logs := make([]string, health.DiagnosticLogLines)
	for i := range logs {
		logs[i] = fmt.Sprintf("2026/11/25 20:00:%02d GET /up 503 %s", i, strings.Repeat("é", 200))
	}
	err := error(&health.GateError{Result: res, Diagnostics: health.Diagnostics{
		Container: "app-web-v2", State: engine.Container{State: engine.StateRunning}, Logs: logs,
	}})

	assert.ErrorIs(t, err, health.ErrDeadline)
	var ge *health.GateError
	require.ErrorAs(t, fmt.Errorf("deploy web on 203.0.113.10: %w", err), &ge)

	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, health.ScreenLines)
	for _, l := range lines {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), health.ScreenWidth, l)
	}
	assert.Equal(t, []string{
		"http GET /up (200-399) on container app-web-v2:3000 on 203.0.113.10: deadline 30s reached after 30 attempts",
		"last 5 attempts:",
		`  #26 +25s 2ms 503 Service Unavailable: status 503 is outside 200-399 "unhealthy: sqlite\n"`,
		`  #27 +26s 2ms 503 Service Unavailable: status 503 is outside 200-399 "unhealthy: sqlite\n"`,
		`  #28 +27s 2ms 503 Service Unavailable: status 503 is outside 200-399 "unhealthy: sqlite\n"`,
		`  #29 +28s 2ms 503 Service Unavailable: status 503 is outside 200-399 "unhealthy: sqlite\n"`,
		`  #30 +29s 2ms 503 Service Unavailable: status 503 is outside 200-399 "unhealthy: sqlite\n"`,
		"container app-web-v2: running, 0 restarts",
		"last 31 of 50 log lines:",
	}, lines[:9])
	assert.True(t, strings.HasPrefix(lines[9], "  | 2026/11/25 20:00:19 GET /up 503 éé"), lines[9])
	assert.True(t, strings.HasSuffix(lines[9], "é…"), lines[9])
	assert.True(t, strings.HasPrefix(lines[39], "  | 2026/11/25 20:00:49 GET /up 503 "), lines[39])
}
