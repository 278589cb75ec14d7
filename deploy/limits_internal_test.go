package deploy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func limitsApp() App {
	return App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: Roles{
			"web":  {Servers: Hosts("203.0.113.10"), Proxy: &Proxy{}},
			"jobs": {Servers: Hosts("203.0.113.11")},
		},
		Accessories: map[string]Accessory{"cache": {Image: "valkey/valkey:8", Roles: []string{"web"}}},
	}
}

func TestLoggingIsResolvedForEachContainer(t *testing.T) {
	t.Run("nothing set is json-file capped at 10m, as Kamal's default", func(t *testing.T) {
		a := limitsApp()
		for _, name := range []string{"web", "jobs", "cache"} {
			assert.Equal(t, Logging{Driver: "json-file", Options: map[string]string{"max-size": "10m"}}, a.logging(name), name)
		}
	})
	t.Run("the app's options reach every container, with a max-size kept", func(t *testing.T) {
		a := limitsApp()
		a.Logging = Logging{Options: map[string]string{"max-file": "3"}}
		assert.Equal(t, Logging{Driver: "json-file", Options: map[string]string{"max-file": "3", "max-size": "10m"}}, a.logging("jobs"))
		assert.Equal(t, a.logging("jobs"), a.logging("cache"))
	})
	t.Run("a role's options are merged over the app's", func(t *testing.T) {
		a := limitsApp()
		a.Logging = Logging{Options: map[string]string{"max-file": "3", "max-size": "20m"}}
		web := a.Roles["web"]
		web.Logging = Logging{Options: map[string]string{"max-size": "50m"}}
		a.Roles["web"] = web
		assert.Equal(t, Logging{Driver: "json-file", Options: map[string]string{"max-file": "3", "max-size": "50m"}}, a.logging("web"))
		assert.Equal(t, "20m", a.logging("jobs").Options["max-size"], "the other role keeps the app's")
	})
	t.Run("a role's own driver replaces the app's and its options", func(t *testing.T) {
		a := limitsApp()
		a.Logging = Logging{Options: map[string]string{"max-file": "3"}}
		jobs := a.Roles["jobs"]
		jobs.Logging = Logging{Driver: "journald", Options: map[string]string{"tag": "jobs"}}
		a.Roles["jobs"] = jobs
		assert.Equal(t, Logging{Driver: "journald", Options: map[string]string{"tag": "jobs"}}, a.logging("jobs"),
			"journald takes no max-size or max-file")
	})
	t.Run("an accessory's logging is set over the app's", func(t *testing.T) {
		a := limitsApp()
		acc := a.Accessories["cache"]
		acc.Logging = Logging{Driver: "local", Options: map[string]string{"max-file": "2"}}
		a.Accessories["cache"] = acc
		assert.Equal(t, Logging{Driver: "local", Options: map[string]string{"max-file": "2", "max-size": "10m"}}, a.logging("cache"))
	})
}

func TestContainerSpecCarriesLoggingAndStopTimeout(t *testing.T) {
	a := limitsApp()
	web := a.Roles["web"]
	web.StopTimeout = 90 * time.Second
	web.Logging = Logging{Options: map[string]string{"max-size": "1m"}}
	a.Roles["web"] = web
	s := &Session{app: a}

	spec := s.containerSpec(Plan{Version: "v1"}, Step{Kind: StepStart, Role: "web", Container: "hello-web-v1", Image: "ghcr.io/acme/hello:v1"})
	assert.Equal(t, "json-file", spec.LogDriver)
	assert.Equal(t, map[string]string{"max-size": "1m"}, spec.LogOptions)
	assert.Equal(t, 90*time.Second, spec.StopTimeout, "the engine stops it with the role's timeout too")

	jobs := s.containerSpec(Plan{Version: "v1"}, Step{Kind: StepStart, Role: "jobs", Container: "hello-jobs-v1", Image: "ghcr.io/acme/hello:v1"})
	assert.Equal(t, map[string]string{"max-size": "10m"}, jobs.LogOptions, "bounded by default")
	assert.Equal(t, DefaultStopTimeout, jobs.StopTimeout)
}

func TestStopTimeoutIsEachRolesOwn(t *testing.T) {
	a := limitsApp()
	web := a.Roles["web"]
	web.StopTimeout = 5 * time.Second
	a.Roles["web"] = web
	acc := a.Accessories["cache"]
	acc.StopTimeout = 2 * time.Minute
	a.Accessories["cache"] = acc
	s := &Session{app: a}

	assert.Equal(t, 5*time.Second, a.stopTimeout("web"))
	assert.Equal(t, DefaultStopTimeout, a.stopTimeout("jobs"), "0 is the default")
	assert.Equal(t, 2*time.Minute, a.stopTimeout("cache"))
	call := s.opts.callTimeout()
	assert.Equal(t, 2*5*time.Second+call, s.stepBudget(Step{Kind: StepStopOld, Role: "web", Old: []string{"a", "b"}}),
		"stop-old's deadline counts the role's own timeout per container")
	assert.Equal(t, DefaultStopTimeout+call, s.stepBudget(Step{Kind: StepStopOld, Role: "jobs", Old: []string{"a"}}))
}
