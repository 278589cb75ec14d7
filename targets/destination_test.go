package targets_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/magefile/mage/mg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/targets"
)

// An unknown destination is a bad config: it exits 2 before any host is
// dialled, and says which destinations there are.
func TestUnknownDestinationExitsInvalid(t *testing.T) {
	app := deploy.App{
		Service: "kdshop",
		Image:   "acme/kdshop",
		Roles:   deploy.Roles{"web": {Servers: deploy.Hosts("203.0.113.10")}},
		Destinations: map[string]func(*deploy.App){
			"staging": func(a *deploy.App) {},
		},
	}
	targets.Use(targets.Config{App: app, Options: deploy.Options{Output: io.Discard}})

	_, err := app.ForDestination("prod")
	_, invalid := errors.AsType[*deploy.ValidationError](err)
	require.True(t, invalid, "%T: %v", err, err)

	err = targets.Deploy(context.Background(), ptr("v1"), ptr("prod"))
	require.Error(t, err)
	assert.Equal(t, targets.ExitInvalid, mg.ExitStatus(err), "%v", err)
	assert.Equal(t, `unknown destination "prod"; known destinations: staging`, err.Error())

	err = targets.Plan(context.Background(), ptr("v1"), ptr("prod"), nil)
	assert.Equal(t, targets.ExitInvalid, mg.ExitStatus(err), "%v", err)
}
