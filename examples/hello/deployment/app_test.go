package deployment_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/examples/hello/deployment"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
)

var threeHosts = deploy.Hosts("203.0.113.10", "203.0.113.11", "203.0.113.12")

// replicated is hello on one server with its database replicated to a
// bucket, as in production.
func replicated() deploy.App {
	app := deployment.App(deploy.Hosts("203.0.113.10")...)
	app.Databases[0].Replica = &replicate.Replica{S3: &replicate.S3{Bucket: "acme-hello", Endpoint: "https://s3.example.com"}}
	return app
}

// checkPlan pins what a deploy of hello does: the host, and the env its
// container gets, the replica's included. No server is involved.
func checkPlan(t require.TestingT, app deploy.App) {
	plan, err := deploy.NewPlan(app, deploy.Release{Version: "v2"}, deploy.State{})
	require.NoError(t, err)

	var order [][]string
	for _, b := range plan.Batches {
		order = append(order, b.Hosts)
	}
	assert.Equal(t, [][]string{{"203.0.113.10"}}, order, "the one host that holds the database")
	for _, st := range plan.Steps() {
		if st.Kind == deploy.StepStart {
			assert.Equal(t, map[string]string{
				"DATABASE_PATH":                     "/data/hello.db",
				"SLIPWAY_REPLICA_HELLO_DB_DB":       "/data/hello.db",
				"SLIPWAY_REPLICA_HELLO_DB_BUCKET":   "acme-hello",
				"SLIPWAY_REPLICA_HELLO_DB_PATH":     "hello.db",
				"SLIPWAY_REPLICA_HELLO_DB_ENDPOINT": "https://s3.example.com",
			}, st.Env, "env on %s", st.Host)
			assert.Equal(t, []string{"LITESTREAM_ACCESS_KEY_ID", "LITESTREAM_SECRET_ACCESS_KEY"}, st.Secrets, "the credentials, by name")
			assert.Equal(t, "slipway/hello:v2", st.Image)
		}
		if st.Kind == deploy.StepProxyDeploy {
			assert.Equal(t, "hello-web-v2:3000", st.Proxy.Target)
			assert.Equal(t, "/up", st.Proxy.HealthPath)
		}
		assert.NotEqual(t, deploy.StepBootAccessory, st.Kind, "hello replicates itself: no sidecar")
	}
}

func TestDeployToOneHost(t *testing.T) {
	checkPlan(t, replicated())
}

// A state built with deploy.StateRunning is one line: a redeploy of what
// runs does nothing, and the next release replaces it.
func TestRedeployOfWhatRunsDoesNothing(t *testing.T) {
	app := replicated()
	plan, err := deploy.NewPlan(app, deploy.Release{Version: "v2"}, deploy.StateRunning(app, "v2"))
	require.ErrorIs(t, err, deploy.ErrNothingToDeploy)
	assert.Empty(t, plan.Steps(), "no migration, no batch, no wait")

	next, err := deploy.NewPlan(app, deploy.Release{Version: "v3"}, deploy.StateRunning(app, "v2"))
	require.NoError(t, err)
	out := next.String()
	assert.Contains(t, out, "to 1 host in 1 batch\n")
	assert.Contains(t, out, "stop hello-web-v2")
	assert.Contains(t, out, "start hello-web-v3")
	for _, v := range app.Volumes {
		assert.Contains(t, out, v, "the plan shows the volumes the container mounts")
	}
}

// hello keeps its data in SQLite on the host, so three web servers would
// be three different databases: validation refuses it before any host is
// touched, and says what to do.
func TestThreeHostsAreRefused(t *testing.T) {
	_, err := deploy.NewPlan(deployment.App(threeHosts...), deploy.Release{Version: "v2"}, deploy.State{})
	var ve *deploy.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Problems, 1)
	assert.Equal(t, "databases[0].role", ve.Problems[0].Field)
	assert.Contains(t, ve.Problems[0].Message, "each host would hold its own copy of hello.db")
	assert.Contains(t, ve.Problems[0].Message, "Run role web on one server")
}

// The lab's hello: the database's replica in the lab's bucket, reached
// by the host at its gateway and by this machine at 127.0.0.1.
func TestLabReplicaViews(t *testing.T) {
	lab.RequireS3(t)
	app := deployment.Lab()
	rs := app.Replicas()
	require.Len(t, rs, 1)
	assert.Equal(t, "s3://hello/hello.db", rs[0].String())
	assert.True(t, strings.HasPrefix(rs[0].S3.Endpoint, "http://10.250.1.1:"), rs[0].S3.Endpoint)
	assert.True(t, strings.HasPrefix(deployment.LabReplicas()[0].S3.Endpoint, "http://127.0.0.1:"))
	require.NoError(t, app.Validate())
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
		"env value":      func(a *deploy.App) { a.Env.Clear["DATABASE_PATH"] = "/tmp/hello.db" },
		"extra env":      func(a *deploy.App) { a.Env.Clear["DEBUG"] = "1" },
		"app port":       func(a *deploy.App) { a.Roles["web"].Proxy.AppPort = 8080 },
		"server":         func(a *deploy.App) { a.Roles["web"].Servers[0].Host = "203.0.113.11" },
		"replica bucket": func(a *deploy.App) { a.Databases[0].Replica.S3.Bucket = "acme-other" },
		"replication":    func(a *deploy.App) { a.Databases[0].Replication = deploy.ReplicateSidecar },
		"second server":  func(a *deploy.App) { r := a.Roles["web"]; r.Servers = threeHosts; a.Roles["web"] = r },
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			app := replicated()
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
