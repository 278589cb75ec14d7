package engine

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseState(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want State
	}{
		{"created", StateCreated},
		{"running", StateRunning},
		{"paused", StatePaused},
		{"restarting", StateRestarting},
		{"removing", StateRemoving},
		{"exited", StateExited},
		{"dead", StateDead},
		{"", StateUnknown},
		{"Running", StateUnknown},
	} {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, ParseState(tt.in))
			if tt.want != StateUnknown {
				assert.Equal(t, tt.in, tt.want.String(), "String gives back the engine's name")
			}
		})
	}
	assert.Equal(t, "State(42)", State(42).String())
}

func TestParseHealth(t *testing.T) {
	for in, want := range map[string]Health{"": HealthNone, "none": HealthNone, "starting": HealthStarting, "healthy": HealthHealthy, "unhealthy": HealthUnhealthy, "sick": HealthNone} {
		assert.Equal(t, want, ParseHealth(in), in)
	}
}

func TestFromInspect(t *testing.T) {
	t.Run("reads every field", func(t *testing.T) {
		got := fromInspect(container.InspectResponse{
			ID: "abc", Name: "/web", Image: "sha256:1234", RestartCount: 2,
			Created: "2026-11-25T10:00:00.5Z",
			State: &container.State{
				Status: "exited", ExitCode: 137, OOMKilled: true, Error: "boom",
				StartedAt: "2026-11-25T10:00:01Z", FinishedAt: "2026-11-25T10:05:00Z",
				Health: &container.Health{Status: "unhealthy"},
			},
			Config: &container.Config{Image: "app:v1", Labels: map[string]string{"service": "app"}},
			NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{
				"slipway": {IPAddress: netip.MustParseAddr("172.18.0.2")},
				"bridge":  {},
			}},
		})
		assert.Equal(t, Container{
			ID: "abc", Name: "web", Image: "app:v1", ImageID: "sha256:1234",
			Labels: map[string]string{"service": "app"},
			State:  StateExited, Health: HealthUnhealthy, ExitCode: 137, OOMKilled: true, RestartCount: 2, Error: "boom",
			Created:    time.Date(2026, 11, 25, 10, 0, 0, 5e8, time.UTC),
			StartedAt:  time.Date(2026, 11, 25, 10, 0, 1, 0, time.UTC),
			FinishedAt: time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC),
			IPs:        map[string]string{"slipway": "172.18.0.2", "bridge": ""},
		}, got)
		assert.Equal(t, "172.18.0.2", got.IP(""), "any network skips one without an address")
	})

	t.Run("leaves times zero for events that never happened", func(t *testing.T) {
		got := fromInspect(container.InspectResponse{
			State: &container.State{Status: "created", StartedAt: "0001-01-01T00:00:00Z", FinishedAt: ""},
		})
		assert.Equal(t, StateCreated, got.State)
		assert.Equal(t, HealthNone, got.Health)
		assert.True(t, got.StartedAt.IsZero())
		assert.True(t, got.FinishedAt.IsZero())
	})
}

func TestFromSummary(t *testing.T) {
	got := fromSummary(container.Summary{
		ID: "abc", Names: []string{"/proxy/web", "/web"}, Image: "app:v1", ImageID: "sha256:1234",
		Labels: map[string]string{"service": "app"}, State: "running", Created: 1764064800,
		NetworkSettings: &container.NetworkSettingsSummary{Networks: map[string]*network.EndpointSettings{"slipway": {IPAddress: netip.MustParseAddr("172.18.0.2")}}},
	})
	assert.Equal(t, "web", got.Name, "the container's own name, not a link's")
	assert.Equal(t, StateRunning, got.State)
	assert.True(t, got.Running())
	assert.Equal(t, time.Unix(1764064800, 0), got.Created)
	assert.Equal(t, "172.18.0.2", got.IP("slipway"))
	assert.Equal(t, "app:v1", got.Image)
	assert.Equal(t, "sha256:1234", got.ImageID)
}

func TestProgressError(t *testing.T) {
	for _, tt := range []struct {
		name, stream, wantErr string
	}{
		{name: "a clean load", stream: `{"stream":"Loaded image: app:v1\n"}` + "\n"},
		{name: "an empty stream", stream: ""},
		{name: "an error detail", stream: `{"stream":"x"}{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}`, wantErr: "unexpected EOF"},
		{name: "a bare error", stream: `{"error":"invalid tar header"}`, wantErr: "invalid tar header"},
		{name: "a broken stream", stream: `{"stream":`, wantErr: "read progress"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := progressError(strings.NewReader(tt.stream))
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestLogRequest(t *testing.T) {
	all := LogOptions{}.request()
	assert.Equal(t, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "all"}, all)

	since := time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	some := LogOptions{Tail: 20, Follow: true, Timestamps: true, Since: since}.request()
	assert.Equal(t, "20", some.Tail)
	assert.Equal(t, "2026-11-25T09:00:00Z", some.Since)
	assert.True(t, some.Follow)
	assert.True(t, some.Timestamps)

	assert.Nil(t, lines(""))
	assert.Equal(t, []string{"a", "", "b"}, lines("a\n\nb\n"))
}
