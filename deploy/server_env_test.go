package deploy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serverEnvApp runs one role on two hosts, the second with an env of its own.
func serverEnvApp() App {
	return App{
		Service: "tagged",
		Image:   "ghcr.io/acme/tagged",
		Env:     Env{Clear: map[string]string{"MYSQL_USER": "app", "REGION": "eu"}, Secret: []string{"MYSQL_PASSWORD"}},
		Roles: Roles{"web": {
			Servers: []Server{
				{Host: "10.0.0.1"},
				{Host: "10.0.0.2", Env: Env{Clear: map[string]string{"MYSQL_USER": "readonly"}, Secret: []string{"READONLY_PASSWORD"}}},
			},
			Env: Env{Clear: map[string]string{"REGION": "us"}},
		}},
		Migrate: &Migrate{Cmd: []string{"/app", "migrate"}},
	}
}

func TestServerEnvIsMergedOverTheRolesForThatHostOnly(t *testing.T) {
	a := serverEnvApp()
	require.NoError(t, a.Validate())
	p, err := NewPlan(a, Release{Version: "v1"}, State{})
	require.NoError(t, err)

	starts := map[string]Step{}
	for _, b := range p.Batches {
		for _, st := range b.Steps {
			if st.Kind == StepStart {
				starts[st.Host] = st
			}
		}
	}
	require.Len(t, starts, 2)
	assert.Equal(t, map[string]string{"MYSQL_USER": "app", "REGION": "us"}, starts["10.0.0.1"].Env)
	assert.Equal(t, []string{"MYSQL_PASSWORD"}, starts["10.0.0.1"].Secrets)
	assert.Equal(t, map[string]string{"MYSQL_USER": "readonly", "REGION": "us"}, starts["10.0.0.2"].Env)
	assert.Equal(t, []string{"MYSQL_PASSWORD", "READONLY_PASSWORD"}, starts["10.0.0.2"].Secrets)
	assert.NotEqual(t, starts["10.0.0.1"].Fingerprint, starts["10.0.0.2"].Fingerprint, "the server's env is part of its container's fingerprint")

	require.NotNil(t, p.Migrate)
	assert.Equal(t, "app", p.Migrate.Env["MYSQL_USER"], "the migration runs on the primary host, with its env")
	assert.Contains(t, p.String(), "MYSQL_USER=readonly", "the plan print shows the server's env")
}

func TestServerEnvChangeReplacesOnlyThatHostsContainer(t *testing.T) {
	a := serverEnvApp()
	p, err := NewPlan(a, Release{Version: "v1"}, State{})
	require.NoError(t, err)
	state := State{Hosts: map[string]HostState{}}
	for _, b := range p.Batches {
		for _, st := range b.Steps {
			if st.Kind == StepStart {
				state.Hosts[st.Host] = HostState{Containers: []Container{{ID: "0123456789ab", Name: st.Container,
					Role: st.Role, Version: "v1", Running: true, Fingerprint: st.Fingerprint}}}
			}
		}
	}
	a.Roles["web"].Servers[1].Env.Clear["MYSQL_USER"] = "monitoring"
	p2, err := NewPlan(a, Release{Version: "v1"}, state)
	require.NoError(t, err)
	var hosts []string
	for _, b := range p2.Batches {
		for _, st := range b.Steps {
			if st.Kind == StepStart {
				hosts = append(hosts, st.Host)
				assert.Equal(t, []string{"env MYSQL_USER changed"}, st.Reasons)
			}
		}
	}
	assert.Equal(t, []string{"10.0.0.2"}, hosts)
}

func TestServerEnvIsValidatedAtItsFieldPath(t *testing.T) {
	a := serverEnvApp()
	r := a.Roles["web"]
	r.Servers[1].Env = Env{Clear: map[string]string{"MYSQL_PASSWORD": "x", "bad name": "y"}, Secret: []string{"REGION", ""}}
	a.Roles["web"] = r
	a.Accessories = map[string]Accessory{"db": {Image: "mysql:8", Servers: []Server{{Host: "10.0.0.3", Env: Env{Clear: map[string]string{"A": "b"}}}}}}
	err := a.Validate()
	require.Error(t, err)
	ve, ok := err.(*ValidationError)
	require.True(t, ok)
	fields := map[string]string{}
	for _, p := range ve.Problems {
		fields[p.Field] = p.Message
	}
	assert.Contains(t, fields, "roles.web.servers[1].env.clear.MYSQL_PASSWORD")
	assert.Contains(t, fields["roles.web.servers[1].env.clear.MYSQL_PASSWORD"], "env.secret")
	assert.Contains(t, fields, `roles.web.servers[1].env.clear["bad name"]`)
	assert.Contains(t, fields["roles.web.servers[1].env.secret[0]"], "roles.web.env.clear")
	assert.Contains(t, fields, "roles.web.servers[1].env.secret[1]")
	assert.Contains(t, fields, "accessories.db.servers[0].env")
}

func TestServerEnvSecretsAreResolvedAndCloned(t *testing.T) {
	a := serverEnvApp()
	assert.Contains(t, secretNames(a), "READONLY_PASSWORD")

	c := a.Clone()
	c.Roles["web"].Servers[1].Env.Clear["MYSQL_USER"] = "changed"
	c.Roles["web"].Servers[1].Env.Secret[0] = "OTHER"
	assert.Equal(t, "readonly", a.Roles["web"].Servers[1].Env.Clear["MYSQL_USER"])
	assert.Equal(t, "READONLY_PASSWORD", a.Roles["web"].Servers[1].Env.Secret[0])
}
