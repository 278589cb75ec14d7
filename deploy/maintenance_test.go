package deploy_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
)

func TestMaintenanceModeAndBack(t *testing.T) {
	a, _ := labApp(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connect(t, a, &out)
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())

	get := func(host string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+host+"/", nil)
		req.Host = a.Service + ".test"
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, "never a connection error")
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	require.NoError(t, s.Maintenance(ctx, "Back at 10:00 UTC", time.Second))
	for _, h := range a.HostNames() {
		code, body := get(h)
		assert.Equal(t, http.StatusServiceUnavailable, code, "%s is in maintenance", h)
		assert.Contains(t, body, "Back at 10:00 UTC")
	}
	require.NoError(t, s.Live(ctx))
	for _, h := range a.HostNames() {
		code, body := get(h)
		assert.Equal(t, http.StatusOK, code, "%s is live again", h)
		assert.Equal(t, "v1\n", body)
	}
	audit, err := s.Audit(ctx, 0)
	require.NoError(t, err)
	var steps []string
	for _, e := range audit[a.PrimaryHost()] {
		steps = append(steps, e.Step)
	}
	assert.Contains(t, steps, "maintenance")
	assert.Contains(t, steps, "live")
}
