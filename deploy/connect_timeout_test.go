package deploy_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/slipwayhq/slipway/deploy"
)

func TestServerConnectTimeout(t *testing.T) {
	t.Run("zero leaves the transport's default", func(t *testing.T) {
		cfg := deploy.SSHConfig(deploy.Options{}, deploy.Server{Host: "203.0.113.10"})
		assert.Zero(t, cfg.ConnectTimeout, "0 makes ssh use DefaultConnectTimeout")
	})
	t.Run("a server's own timeout is dialled with", func(t *testing.T) {
		cfg := deploy.SSHConfig(deploy.Options{}, deploy.Server{Host: "203.0.113.10", ConnectTimeout: 30 * time.Second})
		assert.Equal(t, 30*time.Second, cfg.ConnectTimeout)
	})
	t.Run("the session's timeout fills the servers that set none", func(t *testing.T) {
		srv := deploy.Server{Host: "203.0.113.10", Jump: &deploy.Server{Host: "bastion.example.com", ConnectTimeout: time.Minute}}
		cfg := deploy.SSHConfig(deploy.Options{ConnectTimeout: 2 * time.Second}, srv)
		assert.Equal(t, 2*time.Second, cfg.ConnectTimeout)
		assert.Equal(t, time.Minute, cfg.Jump.ConnectTimeout, "the bastion keeps its own")
	})
	t.Run("the server's timeout wins over the session's", func(t *testing.T) {
		cfg := deploy.SSHConfig(deploy.Options{ConnectTimeout: 2 * time.Second}, deploy.Server{Host: "203.0.113.10", ConnectTimeout: 20 * time.Second})
		assert.Equal(t, 20*time.Second, cfg.ConnectTimeout)
	})
	t.Run("a negative timeout is a config error", func(t *testing.T) {
		a := deploy.App{Service: "hello", Image: "hello", Roles: deploy.Roles{"web": {Servers: []deploy.Server{{Host: "203.0.113.10", ConnectTimeout: -time.Second}}}}}
		err := a.Validate()
		assert.ErrorContains(t, err, "roles.web.servers[0].connectTimeout: must not be negative")
	})
}
