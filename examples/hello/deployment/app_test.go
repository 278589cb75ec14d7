package deployment_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/examples/hello/deployment"
)

var threeHosts = deploy.Hosts("203.0.113.10", "203.0.113.11", "203.0.113.12")

// checkPlan pins what a deploy of hello to three hosts does: the order
// of the hosts and the env each container gets. No server is involved.
func checkPlan(t require.TestingT, app deploy.App) {
	plan, err := deploy.NewPlan(app, deploy.Release{Version: "v2"}, deploy.State{})
	require.NoError(t, err)

	var order [][]string
	for _, b := range plan.Batches {
		order = append(order, b.Hosts)
	}
	assert.Equal(t, [][]string{{"203.0.113.10"}, {"203.0.113.11"}, {"203.0.113.12"}}, order,
		"one host at a time, the primary first")
	for _, st := range plan.Steps() {
		if st.Kind == deploy.StepStart {
			assert.Equal(t, map[string]string{"DATABASE_PATH": "/data/hello.db"}, st.Env, "env on %s", st.Host)
			assert.Equal(t, "slipway/hello:v2", st.Image)
		}
		if st.Kind == deploy.StepProxyDeploy {
			assert.Equal(t, "hello-web-v2:3000", st.Proxy.Target)
			assert.Equal(t, "/up", st.Proxy.HealthPath)
		}
	}
}

func TestDeployToThreeHosts(t *testing.T) {
	checkPlan(t, deployment.App(threeHosts...))
}

// recorder is a TestingT that records failures instead of failing.
type recorder struct{ failed []string }

func (r *recorder) Errorf(format string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}
func (r *recorder) FailNow() { panic(r) }

// The plan test is not a test that cannot fail: change one value of the
// app's config and its assertions catch it.
func TestPlanTestCatchesConfigChanges(t *testing.T) {
	mutations := map[string]func(*deploy.App){
		"boot limit":    func(a *deploy.App) { a.Boot.Limit = 0 },
		"env value":     func(a *deploy.App) { a.Env.Clear["DATABASE_PATH"] = "/tmp/hello.db" },
		"extra env":     func(a *deploy.App) { a.Env.Clear["DEBUG"] = "1" },
		"app port":      func(a *deploy.App) { a.Roles["web"].Proxy.AppPort = 8080 },
		"primary order": func(a *deploy.App) { r := a.Roles["web"]; r.Servers[0], r.Servers[2] = r.Servers[2], r.Servers[0] },
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			app := deployment.App(append([]deploy.Server(nil), threeHosts...)...)
			mutate(&app)
			r := &recorder{}
			func() {
				defer func() { recover() }()
				checkPlan(r, app)
			}()
			assert.NotEmpty(t, r.failed, "the plan test notices a changed %s", name)
		})
	}
}
