package deploy_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
)

// A deploy of the release that runs already changes nothing and says so:
// no migration, no container started, no error (exit 0 for `mage deploy`).
func TestDeployOfWhatRunsIsNothingToDeploy(t *testing.T) {
	a, _ := labApp(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connect(t, a, &out)
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())

	a.Migrate = &deploy.Migrate{Cmd: []string{"fail"}} // would fail the deploy, were it run
	a.Boot = deploy.Boot{Limit: 1, Wait: time.Minute}  // empty batches: no wait
	again := connect(t, a, &out)
	rep, err := again.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())
	assert.NotContains(t, out.String(), "waiting ", "no wait between batches that run the release already")
	assert.Empty(t, rep.Steps, "no step ran")
	assert.Empty(t, rep.Plan.Steps(), "the plan is empty")
	assert.Contains(t, out.String(), "nothing to deploy: every host already runs "+a.Service+" v1")

	rep, err = again.Rollback(ctx, "v1")
	require.NoError(t, err, out.String())
	assert.Empty(t, rep.Steps)
	assert.Contains(t, out.String(), "nothing to roll back")
}
