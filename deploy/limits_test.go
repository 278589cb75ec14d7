package deploy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
)

func TestValidateLoggingAndStopTimeout(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(a *deploy.App)
		problem string
	}{
		{"a plugin driver is a plausible name", func(a *deploy.App) {
			a.Logging = deploy.Logging{Driver: "grafana/loki:3.0", Options: map[string]string{"loki-url": "http://10.0.0.5/loki"}}
		}, ""},
		{"a driver name with spaces is refused", func(a *deploy.App) {
			a.Logging = deploy.Logging{Driver: "json file"}
		}, `logging.driver: must be a log driver's name`},
		{"an option needs a name", func(a *deploy.App) {
			a.Logging = deploy.Logging{Options: map[string]string{"": "1"}}
		}, `logging.options[""]: an option needs a name`},
		{"a role's max-size must be a size", func(a *deploy.App) {
			web := a.Roles["web"]
			web.Logging = deploy.Logging{Options: map[string]string{"max-size": "ten megs"}}
			a.Roles["web"] = web
		}, `roles.web.logging.options.max-size: must be a size such as "10m"`},
		{"max-file is a count of at least 1", func(a *deploy.App) {
			a.Logging = deploy.Logging{Options: map[string]string{"max-file": "0"}}
		}, `logging.options.max-file: must be a whole number of files, at least 1`},
		{"the none driver takes no options", func(a *deploy.App) {
			a.Accessories = map[string]deploy.Accessory{"cache": {Image: "valkey/valkey:8", Roles: []string{"web"},
				Logging: deploy.Logging{Driver: "none", Options: map[string]string{"max-size": "1m"}}}}
		}, `accessories.cache.logging.options: the "none" driver takes no options`},
		{"a negative stop timeout is refused", func(a *deploy.App) {
			jobs := a.Roles["jobs"]
			jobs.StopTimeout = -time.Second
			a.Roles["jobs"] = jobs
		}, "roles.jobs.stopTimeout: must not be negative; 0 means DefaultStopTimeout (30s)"},
		{"an accessory's negative stop timeout is refused", func(a *deploy.App) {
			a.Accessories = map[string]deploy.Accessory{"cache": {Image: "valkey/valkey:8", Roles: []string{"web"}, StopTimeout: -1}}
		}, "accessories.cache.stopTimeout: must not be negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := helloApp()
			tc.edit(&a)
			err := a.Validate()
			if tc.problem == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.problem)
		})
	}
}

func TestPlanShowsLoggingOnlyWhenItIsNotTheDefault(t *testing.T) {
	plan, err := deploy.NewPlan(helloApp(), deploy.Release{Version: "v2"}, deploy.State{})
	require.NoError(t, err)
	assert.NotContains(t, plan.String(), "logging", "the default is not printed")

	a := helloApp()
	jobs := a.Roles["jobs"]
	jobs.Logging = deploy.Logging{Options: map[string]string{"max-size": "50m", "max-file": "3"}}
	a.Roles["jobs"] = jobs
	plan, err = deploy.NewPlan(a, deploy.Release{Version: "v2"}, deploy.State{})
	require.NoError(t, err)
	var lines []string
	for _, line := range strings.Split(plan.String(), "\n") {
		if strings.Contains(line, "logging") {
			lines = append(lines, line)
		}
	}
	require.Len(t, lines, 1, "only the jobs role's start says so:\n%s", plan)
	assert.Contains(t, lines[0], "start hello-jobs-v2")
	assert.Contains(t, lines[0], "logging json-file max-file=3 max-size=50m")
	require.Len(t, plan.Batches, 3)
	assert.Equal(t, &deploy.Logging{Driver: "json-file", Options: map[string]string{"max-size": "50m", "max-file": "3"}},
		plan.Batches[2].StepsOn("203.0.113.13")[0].Logging)
}
