package deploy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/secret"
)

// checkApp is a valid app with two secrets and a staging destination;
// its hosts are in TEST-NET-1, which no test may dial.
func checkApp(found map[string]string) deploy.App {
	return deploy.App{
		Service: "chk",
		Image:   "ghcr.io/acme/chk",
		Roles: deploy.Roles{
			"web":  {Servers: deploy.Hosts("192.0.2.1", "192.0.2.2"), Proxy: &deploy.Proxy{AppPort: 3000}},
			"jobs": {Servers: deploy.Hosts("192.0.2.3"), Cmd: []string{"/chk", "work"}},
		},
		Env:     deploy.Env{Secret: []string{"SECRET_KEY_BASE", "API_TOKEN"}},
		Secrets: mapSource(found),
		Hooks: deploy.Hooks{PreConnect: func(context.Context, deploy.HookContext) error {
			panic("an offline check dialled")
		}},
		Destinations: map[string]func(*deploy.App){"staging": nil},
	}
}

// mapSource is a secret.Source of fixed values.
func mapSource(m map[string]string) secret.Source {
	return secret.Func(func(_ context.Context, name string) (string, error) {
		if v, ok := m[name]; ok {
			return v, nil
		}
		return "", &secret.MissingError{Name: name, Where: "not in the test's map"}
	})
}

func TestCheckReportsEveryProblemAtOnce(t *testing.T) {
	const value = "s3cr3t-value-never-shown"
	app := checkApp(map[string]string{"SECRET_KEY_BASE": value})

	rep, err := deploy.Check(context.Background(), app, deploy.CheckOptions{Destination: "prod", Version: "bad/version"})
	require.Error(t, err)
	t.Logf("report:\n%s", rep)

	status := map[string]deploy.CheckStatus{}
	for _, c := range rep.Checks {
		assert.Empty(t, c.Host, "offline: no host checked")
		status[c.Name] = c.Status
	}
	assert.Equal(t, map[string]deploy.CheckStatus{
		"version": deploy.CheckFailed, "destination": deploy.CheckFailed, "app": deploy.CheckOK,
		"secrets": deploy.CheckFailed, "plan": deploy.CheckSkipped, // the version is bad
	}, status)
	assert.True(t, rep.Invalid())
	assert.Len(t, rep.Failed(), 3)

	out := rep.String() + err.Error()
	assert.Contains(t, out, `version: must be letters, digits`)
	assert.Contains(t, out, `unknown destination "prod"; known destinations: staging`)
	assert.Contains(t, out, "1 secret missing: API_TOKEN")
	assert.NotContains(t, out, value, "a secret's value is in no output")
	assert.Regexp(t, `(?m)^config\s+secrets\s+FAIL\s+1 secret missing: API_TOKEN; API_TOKEN: not in the test's map$`, rep.String(), "one line per check")

	_, invalid := errors.AsType[*deploy.ValidationError](err)
	assert.True(t, invalid, "a bad config unwraps to a *ValidationError: %T", err)
	assert.ErrorIs(t, err, secret.ErrMissing)
	assert.NotContains(t, fieldsOf(err), "", "every problem names its field")
}

func fieldsOf(err error) []string {
	v, _ := errors.AsType[*deploy.ValidationError](err)
	var fields []string
	for _, p := range v.Problems {
		fields = append(fields, p.Field)
	}
	return fields
}

func TestCheckPassesAGoodConfigOffline(t *testing.T) {
	app := checkApp(map[string]string{"SECRET_KEY_BASE": "key-base-value", "API_TOKEN": "api-token-value"})
	rep, err := deploy.Check(context.Background(), app, deploy.CheckOptions{Destination: "staging", Version: "v1"})
	require.NoError(t, err, "%s", rep)
	assert.False(t, rep.Invalid())
	assert.Equal(t, `config          version      ok   v1
config          destination  ok   staging
config          app          ok   chk: 2 roles on 3 hosts
config          secrets      ok   2 secrets resolved: API_TOKEN, SECRET_KEY_BASE
`, rep.String()[:len(rep.String())-len(rep.Checks[len(rep.Checks)-1].String())-1])
	plan := rep.Checks[len(rep.Checks)-1]
	assert.Equal(t, "plan", plan.Name)
	assert.Equal(t, deploy.CheckOK, plan.Status)
	assert.Regexp(t, `^\d+ steps on 3 hosts in \d+ batch(es)?, against an empty state$`, plan.Detail)
}

func TestCheckReportsValidationProblemsWithTheirFields(t *testing.T) {
	app := checkApp(map[string]string{"SECRET_KEY_BASE": "key-base-value", "API_TOKEN": "api-token-value"})
	app.Service = "Not Valid"
	app.Roles["web"] = deploy.Role{Servers: deploy.Hosts("192.0.2.1"), Proxy: &deploy.Proxy{AppPort: 70000}}
	rep, err := deploy.Check(context.Background(), app, deploy.CheckOptions{Version: "v1", Online: true})
	require.Error(t, err)
	assert.True(t, rep.Invalid())
	fields := fieldsOf(err)
	assert.Contains(t, fields, "service")
	assert.Contains(t, fields, "roles.web.proxy.appPort")
	last := rep.Checks[len(rep.Checks)-1]
	assert.Equal(t, deploy.CheckResult{Name: "hosts", Status: deploy.CheckSkipped, Detail: "not dialled: fix the configuration first"}, last,
		"-online dials nothing for a bad config")
}
