package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/examples/hello/deployment"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/slipwayhq/slipway/secret"
)

// The tool deploys, rolls back and drills a copy of hello in the lab,
// through the SDK alone, under a service name and bucket of its own.
func TestToolDeployRollbackDrill(t *testing.T) {
	l := lab.Require(t, 1)
	s3 := lab.RequireS3(t)
	h := l.Hosts[0]
	service := fmt.Sprintf("tool%d", rand.Uint32()%100000)
	lab.CleanupService(t, l.Hosts[:1], service)
	bucket := s3.Bucket(t, service)

	app, replica := deployment.Isolated(deployment.Lab(), service, bucket, s3.HostEndpoint(h),
		secret.File{Path: lab.SecretsFile(lab.Options{})})
	replicas := []replicate.Replica{replica}

	get := func() string {
		req, _ := http.NewRequest("GET", "http://"+h.Addr+"/", nil)
		req.Host = service + ".test"
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	ctx := context.Background()
	require.NoError(t, run(ctx, app, replicas, []string{"deploy", "a1"}))
	require.Contains(t, get(), "hello from a1")
	require.NoError(t, run(ctx, app, replicas, []string{"deploy", "a2"}))
	require.Contains(t, get(), "hello from a2")
	require.NoError(t, run(ctx, app, replicas, []string{"rollback", "a1"}))
	require.Contains(t, get(), "hello from a1")
	time.Sleep(2500 * time.Millisecond) // the visits reach the replica
	require.NoError(t, run(ctx, app, replicas, []string{"drill"}))
	err := run(ctx, app, replicas, []string{"rollback", "never-deployed"})
	require.ErrorContains(t, err, "not retained")
}
