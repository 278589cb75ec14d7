package deploy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
)

// TestADeployWhoseSidecarCannotReplicateFails: a Database replicated by
// a sidecar whose S3 endpoint answers nothing. The release goes live,
// but the deploy does not say "done": it fails saying the database is
// not being replicated, and the summary shows the sidecar as FAILING
// with its own image tag, not the app's version.
func TestADeployWhoseSidecarCannotReplicateFails(t *testing.T) {
	l := lab.Require(t, 1)
	service := fmt.Sprintf("accessory-%d", rand.Uint32()%1_000_000)
	// Registered before CleanupService, so it runs after the containers
	// that mount the volume are gone.
	t.Cleanup(func() { removeVolume(l.Hosts[0], service+"-data") })
	lab.CleanupService(t, l.Hosts[:1], service)
	a := testApp(service, l.Hosts[:1])
	h := l.Hosts[0]
	lab.RequireSidecarImage(t, []lab.Host{h})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t.Setenv(replicate.DefaultAccessKeyIDVar, "AKIAFAILING")
	t.Setenv(replicate.DefaultSecretAccessKeyVar, "failing-secret-9d2c")
	volume := service + "-data"
	// A closed port on the host's own gateway: nothing answers there.
	r := replicate.Replica{DB: "/data/app.db", S3: &replicate.S3{Bucket: "nowhere", Endpoint: "http://" + lab.RegistryAddr[:len(lab.RegistryAddr)-len(":5000")] + ":1"}}
	a.Volumes = []string{volume + ":/data"}
	a.Databases = []deploy.Database{{Path: "/data/app.db", Replica: &r, Replication: deploy.ReplicateSidecar}}

	var out syncBuffer
	s := connect(t, a, &out)
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	t.Logf("deploy: %v\n%s", err, out.String())
	require.ErrorIs(t, err, deploy.ErrAccessoryFailing)
	assert.ErrorContains(t, err, "NOT being replicated")
	assert.Regexp(t, deploy.SidecarAccessoryName("web")+`\s+\S+\s+FAILING`, out.String())
	assert.NotContains(t, out.String(), "failing-secret-9d2c")
	assert.NotContains(t, err.Error(), "failing-secret-9d2c")
}
