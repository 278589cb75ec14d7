package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
)

// hello replicated by a Litestream sidecar instead of the embedded
// library: the sidecar is an accessory sharing hello's volume, with its
// litestream.yml copied in and its credentials passed as secrets.
func TestSidecarReplicatesTheAppsDatabase(t *testing.T) {
	app, replica, h := recoveryApp(t)
	lab.RequireLitestreamImage(t, []lab.Host{h})
	app.Databases[0].Replica = nil // the app itself does not replicate

	inContainer := replica
	s3 := *replica.S3
	s3.Secrets = nil // the sidecar reads its credentials from its env
	inContainer.S3 = &s3
	sc, err := replicate.NewSidecar(app.Service, lab.LitestreamImage, app.Volumes, inContainer)
	require.NoError(t, err)
	app.Accessories = map[string]deploy.Accessory{"litestream": deploy.SidecarAccessory(sc, "web")}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, out := deployed(t, ctx, app, "s1")

	v := &visits{}
	v.loop("http://"+h.Addr+"/", app.Service+".test", nil, 25, 10*time.Second)
	require.Equal(t, 25, v.ok)

	// The sidecar ships the writes: the replica is fresh, and a drill of
	// it holds all 25 visits.
	require.Eventually(t, func() bool {
		_, err := replicate.Verify(ctx, replica, 30*time.Second)
		return err == nil
	}, 20*time.Second, 500*time.Millisecond, "the sidecar replicated the database")
	time.Sleep(2 * time.Second)
	rep, err := replicate.Drill(ctx, replica, replicate.DrillOptions{Queries: []replicate.Query{
		{Name: "all visits", SQL: "SELECT id FROM visits", MinRows: 25, MaxRows: 25}}})
	require.NoError(t, err)
	assert.True(t, rep.Passed)
	assert.NotContains(t, out.String(), lab.RequireS3(t).SecretAccessKey, "no secret in the deploy output")
}
