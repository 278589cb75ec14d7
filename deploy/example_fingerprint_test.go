package deploy_test

import (
	"fmt"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/secret"
)

// A deploy of the version that runs replaces the containers whose
// definition changed, and says why. Here the running container was made
// with the fingerprint of the first plan (the executor labels it so);
// then an env value changes and a secret is rotated (Session.Deploy fills
// Release.Secrets with the app's keyed digests; a test sets them).
func ExampleFingerprint() {
	app := deploy.App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: deploy.Roles{"web": {
			Servers: deploy.Hosts("203.0.113.10"),
			Proxy:   &deploy.Proxy{AppPort: 3000, Health: health.HTTP{Path: "/up"}},
		}},
		Env: deploy.Env{Clear: map[string]string{"LOG_LEVEL": "info"}, Secret: []string{"SECRET_KEY_BASE"}},
	}
	key := []byte("the app's key, kept on its primary host")
	v1 := deploy.Release{Version: "v1", Secrets: deploy.DigestSecrets(key, secret.Values{"SECRET_KEY_BASE": "old"})}

	first, _ := deploy.NewPlan(app, v1, deploy.State{})
	state := deploy.StateRunning(app, "v1")
	hs := state.Hosts["203.0.113.10"]
	hs.Containers[0].ID = "3f2a1b9c5d6e"
	hs.Containers[0].Fingerprint = first.Batches[0].Steps[0].Fingerprint // what its label holds
	state.Hosts["203.0.113.10"] = hs

	_, err := deploy.NewPlan(app, v1, state)
	fmt.Println(err)

	app.Env.Clear = map[string]string{"LOG_LEVEL": "debug"}
	v1.Secrets = deploy.DigestSecrets(key, secret.Values{"SECRET_KEY_BASE": "new"})
	plan, err := deploy.NewPlan(app, v1, state)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range plan.Batches[0].Steps {
		fmt.Printf("%s %v aside=%q\n", st.Kind, st.Reasons, st.Aside)
	}
	// Output:
	// every host already runs this release
	// start [env LOG_LEVEL changed secret SECRET_KEY_BASE rotated] aside="hello-web-v1-replaced-3f2a1b9c"
	// proxy-deploy [] aside="hello-web-v1-replaced-3f2a1b9c"
	// stop-old [] aside=""
	// proxy-deploy [] aside=""
}
