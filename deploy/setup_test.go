package deploy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
)

// setupChecks are the checks of helloApp's four hosts, each made by edit
// from a fresh Debian host on which root logs in.
func setupChecks(edit func(*deploy.HostCheck)) []deploy.HostCheck {
	var checks []deploy.HostCheck
	for _, h := range helloApp().HostNames() {
		c := deploy.HostCheck{Host: h, User: "root", Root: true, Apt: true, Systemd: true, OS: "Debian GNU/Linux 12 (bookworm)"}
		edit(&c)
		checks = append(checks, c)
	}
	return checks
}

func TestSetupPlan(t *testing.T) {
	t.Run("installs Docker as root where it is missing, then the network and the proxy", func(t *testing.T) {
		plan, err := deploy.NewSetupPlan(helloApp(), setupChecks(func(*deploy.HostCheck) {}))
		require.NoError(t, err)
		golden(t, "setup_no_docker_root", plan.String())
		assert.Equal(t, []string{"apt-get update", "env DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io",
			"systemctl enable --now docker"}, plan.Hosts[0].Commands)
		assert.Equal(t, deploy.StepEnsureNetwork, plan.Hosts[3].Steps[0].Kind)
		assert.Len(t, plan.Hosts[3].Steps, 1, "the jobs host has no proxied role, so no kamal-proxy")
	})

	t.Run("goes through sudo -n for a user that is not root, and adds it to the docker group", func(t *testing.T) {
		plan, err := deploy.NewSetupPlan(helloApp(), setupChecks(func(c *deploy.HostCheck) {
			c.User, c.Root, c.Sudo, c.OS = "deploy", false, true, "Ubuntu 24.04.1 LTS"
		}))
		require.NoError(t, err)
		golden(t, "setup_no_docker_sudo", plan.String())
		for _, cmd := range plan.Hosts[0].Commands {
			assert.Regexp(t, `^sudo -n `, cmd)
		}
		assert.Equal(t, "sudo -n usermod -aG docker deploy", plan.Hosts[0].Commands[len(plan.Hosts[0].Commands)-1])
	})

	t.Run("only makes the network and boots the proxy where Docker runs", func(t *testing.T) {
		checks := setupChecks(func(c *deploy.HostCheck) { c.Docker, c.Engine = deploy.DockerRunning, "20.10.24" })
		checks[1].Network, checks[1].Proxy = true, true
		checks[2].Network = true
		plan, err := deploy.NewSetupPlan(helloApp(), checks)
		require.NoError(t, err)
		golden(t, "setup_docker_running", plan.String())
		for _, h := range plan.Hosts {
			assert.Empty(t, h.Commands, h.Check.Host)
		}
		assert.Empty(t, plan.Hosts[1].Steps, "a ready host is left alone")
		assert.Equal(t, 4, plan.Changes())
	})

	t.Run("starts Docker that is installed but does not answer", func(t *testing.T) {
		plan, err := deploy.NewSetupPlan(helloApp(), setupChecks(func(c *deploy.HostCheck) { c.Docker = deploy.DockerStopped }))
		require.NoError(t, err)
		assert.Equal(t, []string{"systemctl enable --now docker"}, plan.Hosts[0].Commands)
	})

	t.Run("says there is nothing to do on ready hosts", func(t *testing.T) {
		plan, err := deploy.NewSetupPlan(helloApp(), setupChecks(func(c *deploy.HostCheck) {
			c.Docker, c.Network, c.Proxy = deploy.DockerRunning, true, true
		}))
		require.NoError(t, err)
		assert.Zero(t, plan.Changes())
		assert.Equal(t, "Nothing to set up for hello: on 4 hosts Docker runs, network slipway exists and kamal-proxy runs where a role needs it\n", plan.String())
	})

	t.Run("refuses a host without apt-get, saying what to install by hand", func(t *testing.T) {
		checks := setupChecks(func(*deploy.HostCheck) {})
		checks[2].Apt, checks[2].OS = false, "Fedora Linux 41"
		_, err := deploy.NewSetupPlan(helloApp(), checks)
		require.ErrorIs(t, err, deploy.ErrCannotSetup)
		assert.Equal(t, "203.0.113.12: Docker is not installed and 203.0.113.12 (Fedora Linux 41) has no apt-get (it is not Debian or Ubuntu): "+
			"install Docker Engine there by hand with the distribution's packages (docker, or docker-ce from Docker's repository), start it, then run server:setup again", err.Error())
	})

	t.Run("refuses a user that is not root and has no passwordless sudo, every such host at once", func(t *testing.T) {
		_, err := deploy.NewSetupPlan(helloApp(), setupChecks(func(c *deploy.HostCheck) { c.User, c.Root = "deploy", false }))
		require.ErrorIs(t, err, deploy.ErrCannotSetup)
		for _, h := range helloApp().HostNames() {
			assert.Contains(t, err.Error(), h+": Docker is not installed and user deploy is not root and cannot run sudo without a password: log in as root (Server.User)")
		}
	})

	t.Run("refuses a host the checks left out", func(t *testing.T) {
		_, err := deploy.NewSetupPlan(helloApp(), setupChecks(func(*deploy.HostCheck) {})[:3])
		require.ErrorIs(t, err, deploy.ErrCannotSetup)
		assert.Contains(t, err.Error(), "203.0.113.13: not checked")
	})
}
