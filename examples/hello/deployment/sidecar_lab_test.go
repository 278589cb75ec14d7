package deployment_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/examples/hello/deployment"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/slipwayhq/slipway/secret"
)

// One line of the declaration turns hello's replication over to a
// Litestream sidecar: no accessory written by hand, and hello itself
// gets no replica to start. The sidecar replicates every visit; a drill
// of the replica holds them all.
func TestDeclaredSidecarReplicatesHello(t *testing.T) {
	l := lab.Require(t, 1)
	s3 := lab.RequireS3(t)
	h := l.Hosts[0]
	lab.RequireLitestreamImage(t, []lab.Host{h})
	service := fmt.Sprintf("modelsc%d", rand.Uint32()%100000)
	bucket := s3.Bucket(t, service)
	app, replica := deployment.Isolated(deployment.Lab(), service, bucket, s3.HostEndpoint(h),
		secret.File{Path: lab.SecretsFile(lab.Options{})})
	app.Databases[0].Replication = deploy.ReplicateSidecar
	lab.CleanupService(t, l.Hosts, service)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out lockedBuffer
	s, err := deploy.Connect(ctx, app, deploy.Options{Output: &out})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Deploy(ctx, deploy.Release{Version: "sc1"})
	require.NoError(t, err, out.String())
	assert.Contains(t, out.String(), service+"-litestream-web", "the sidecar was booted beside the web role")

	sidecar, err := h.Engine(t).Inspect(ctx, service+"-litestream-web")
	require.NoError(t, err)
	assert.True(t, sidecar.Running())

	client := &http.Client{Timeout: 5 * time.Second}
	for i := range 20 {
		req, _ := http.NewRequest("GET", "http://"+h.Addr+"/", nil)
		req.Host = service + ".test"
		resp, err := client.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Contains(t, string(body), fmt.Sprintf("visit #%d", i+1))
	}

	query := replicate.DrillOptions{Queries: []replicate.Query{{Name: "all visits", SQL: "SELECT id FROM visits", MinRows: 20, MaxRows: 20}}}
	var rep replicate.DrillReport
	require.Eventually(t, func() bool {
		rep, err = replicate.Drill(ctx, replica, query)
		return err == nil && rep.Passed
	}, 30*time.Second, time.Second, "the sidecar replicated all 20 visits: %v", err)
	assert.Equal(t, "ok", rep.Integrity)
	assert.NotContains(t, out.String(), s3.SecretAccessKey, "no secret in the deploy output")
}

// lockedBuffer collects a session's output from its concurrent steps.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
