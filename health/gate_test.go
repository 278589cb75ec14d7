package health_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/health"
)

func TestGateDefaults(t *testing.T) {
	defaults := health.Policy{Interval: time.Second, Timeout: 5 * time.Second, Successes: 1, Deadline: 30 * time.Second}
	tests := []struct {
		name   string
		gate   health.Gate
		kind   string
		desc   string
		policy health.Policy
	}{
		{"zero HTTP gets every default", health.HTTP{}, "http", "http GET /up (200-399)", defaults},
		{"HTTP keeps what is set", health.HTTP{Path: "/ready", Status: health.StatusRange{Min: 204, Max: 204}, Body: "ok", Interval: 2 * time.Second, Successes: 3},
			"http", `http GET /ready (204) containing "ok"`,
			health.Policy{Interval: 2 * time.Second, Timeout: 5 * time.Second, Successes: 3, Deadline: 30 * time.Second}},
		{"zero TCP gets every default", health.TCP{}, "tcp", "tcp connect", defaults},
		{"TCP names its own port", health.TCP{Port: 5432}, "tcp", "tcp connect :5432", defaults},
		{"HTTP names its own port", health.HTTP{Port: 9090}, "http", "http GET :9090/up (200-399)", defaults},
		{"TCP keeps what is set", health.TCP{Timeout: time.Second, Deadline: time.Minute}, "tcp", "tcp connect",
			health.Policy{Interval: time.Second, Timeout: time.Second, Successes: 1, Deadline: time.Minute}},
		{"Command names its program only", health.Command{Cmd: []string{"/app", "check", "--token=secret"}}, "command", "command /app", defaults},
		{"zero Docker gets every default", health.Docker{}, "docker", "docker health status", defaults},
		{"Docker keeps what is set", health.Docker{Deadline: 2 * time.Minute, Successes: 2}, "docker", "docker health status",
			health.Policy{Interval: time.Second, Timeout: 5 * time.Second, Successes: 2, Deadline: 2 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.kind, tt.gate.Name())
			assert.Equal(t, tt.desc, tt.gate.String())
			assert.Equal(t, tt.policy, tt.gate.Policy())
		})
	}
}

func TestWithDefaults(t *testing.T) {
	assert.Equal(t, health.HTTP{
		Path: "/up", Status: health.StatusRange{Min: 200, Max: 399},
		Interval: time.Second, Timeout: 5 * time.Second, Successes: 1, Deadline: 30 * time.Second,
	}, health.HTTP{}.WithDefaults())
	assert.Equal(t, health.TCP{Interval: time.Second, Timeout: 5 * time.Second, Successes: 1, Deadline: 30 * time.Second}, health.TCP{}.WithDefaults())
	assert.Equal(t, health.Docker{Interval: time.Second, Timeout: 5 * time.Second, Successes: 1, Deadline: 30 * time.Second}, health.Docker{}.WithDefaults())
	assert.Equal(t, health.Command{Cmd: []string{"/x"}, User: "app", Interval: time.Second, Timeout: 5 * time.Second, Successes: 1, Deadline: 30 * time.Second},
		health.Command{Cmd: []string{"/x"}, User: "app"}.WithDefaults())
}

func TestStatusRange(t *testing.T) {
	r := health.StatusRange{Min: 200, Max: 399}
	assert.True(t, r.Contains(200))
	assert.True(t, r.Contains(302))
	assert.True(t, r.Contains(399))
	assert.False(t, r.Contains(199))
	assert.False(t, r.Contains(400))
	assert.Equal(t, "200-399", r.String())
	assert.Equal(t, "204", health.StatusRange{Min: 204, Max: 204}.String())
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		gate interface{ Validate() error }
		want []string
	}{
		{"a zero HTTP gate is valid", health.HTTP{}, nil},
		{"zero TCP is valid", health.TCP{}, nil},
		{"zero Docker is valid", health.Docker{}, nil},
		{"a path with a query is valid", health.HTTP{Path: "/up?full=1", Host: "app.example.com:443"}, nil},
		{"a negative interval", health.HTTP{Interval: -time.Second},
			[]string{"health.http.interval: must not be negative, got -1s"}},
		{"a negative timeout", health.TCP{Timeout: -time.Millisecond},
			[]string{"health.tcp.timeout: must not be negative, got -1ms"}},
		{"a negative deadline", health.Docker{Deadline: -time.Minute},
			[]string{"health.docker.deadline: must not be negative, got -1m0s"}},
		{"negative successes", health.TCP{Successes: -2},
			[]string{"health.tcp.successes: must not be negative, got -2"}},
		{"a deadline too short for the successes", health.HTTP{Successes: 3, Deadline: 2 * time.Second},
			[]string{"health.http.deadline: 2s leaves no room for 3 consecutive successes 1s apart"}},
		{"a path without a leading slash", health.HTTP{Path: "up"},
			[]string{`health.http.path: must start with "/", got "up"`}},
		{"a path with a space", health.HTTP{Path: "/u p"},
			[]string{`health.http.path: must not contain spaces or control characters, got "/u p"`}},
		{"a path with a control character", health.HTTP{Path: "/up\n"},
			[]string{`health.http.path: must not contain spaces or control characters, got "/up\n"`}},
		{"a path with a fragment", health.HTTP{Path: "/up#x"},
			[]string{`health.http.path: must not contain a fragment (#), got "/up#x"`}},
		{"a status range upside down", health.HTTP{Status: health.StatusRange{Min: 400, Max: 200}},
			[]string{"health.http.status: min 400 is above max 200"}},
		{"a status range with only a min", health.HTTP{Status: health.StatusRange{Min: 200}},
			[]string{"health.http.status.max: must be an HTTP status code (100-599), got 0", "health.http.status: min 200 is above max 0"}},
		{"a host with a slash", health.HTTP{Host: "app.example.com/x"},
			[]string{`health.http.host: must be a host name with an optional port, got "app.example.com/x"`}},
		{"a port out of range", health.HTTP{Port: 70000},
			[]string{"health.http.port: must be a port number (1-65535), got 70000"}},
		{"a negative port", health.TCP{Port: -1},
			[]string{"health.tcp.port: must be a port number (1-65535), got -1"}},
		{"a command with nothing to run", health.Command{},
			[]string{"health.command.cmd: must name a program to run"}},
		{"a command with an empty program", health.Command{Cmd: []string{" "}, Interval: -1},
			[]string{"health.command.cmd: program must not be empty", "health.command.interval: must not be negative, got -1ns"}},
		{"every problem at once", health.HTTP{Path: "up", Status: health.StatusRange{Min: 500, Max: 200}, Interval: -time.Second, Deadline: -time.Second},
			[]string{
				`health.http.path: must start with "/", got "up"`,
				"health.http.status: min 500 is above max 200",
				"health.http.interval: must not be negative, got -1s",
				"health.http.deadline: must not be negative, got -1s",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.gate.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *health.FieldError
				require.True(t, errors.As(e, &fe), "%v is a *FieldError", e)
				got = append(got, e.Error())
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestValidateAtNestsUnderTheCallersPath(t *testing.T) {
	errs := health.HTTP{Path: "up", Interval: -time.Second}.ValidateAt("roles.web.proxy.health")
	require.Len(t, errs, 2)
	assert.Equal(t, `roles.web.proxy.health.path: must start with "/", got "up"`, errs[0].Error())
	var fe *health.FieldError
	require.ErrorAs(t, errs[1], &fe)
	assert.Equal(t, "roles.web.proxy.health.interval", fe.Field)
	assert.Equal(t, "must not be negative, got -1s", fe.Problem)

	errs = health.TCP{Timeout: -1}.ValidateAt("")
	require.Len(t, errs, 1)
	assert.Equal(t, "timeout: must not be negative, got -1ns", errs[0].Error())
}
