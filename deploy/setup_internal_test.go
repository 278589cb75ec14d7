package deploy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/ssh"
)

// fakeRunner is a host's shell for the setup runner: it records each
// command and answers with RunFunc.
type fakeRunner struct {
	ran     []string
	RunFunc func(cmd string) (ssh.Result, error)
}

func (f *fakeRunner) Run(_ context.Context, cmd string, _ io.Reader) (ssh.Result, error) {
	f.ran = append(f.ran, cmd)
	if f.RunFunc == nil {
		return ssh.Result{}, nil
	}
	return f.RunFunc(cmd)
}

var _ commandRunner = (*fakeRunner)(nil)

func TestSetupRunner(t *testing.T) {
	noDocker := HostCheck{Host: "203.0.113.10", User: "deploy", Sudo: true, Apt: true, Systemd: true}
	cmds, err := dockerCommands(noDocker)
	require.NoError(t, err)
	hs := HostSetup{Check: noDocker, Commands: cmds}

	t.Run("installs and starts Docker through sudo, a line per command", func(t *testing.T) {
		var out bytes.Buffer
		r := &fakeRunner{}
		require.NoError(t, runSetupCommands(context.Background(), r, hs, newPrinter(&out)))
		assert.Equal(t, []string{
			"sudo -n apt-get update",
			"sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io",
			"sudo -n systemctl enable --now docker",
			"sudo -n usermod -aG docker deploy",
		}, r.ran)
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		require.Len(t, lines, 4)
		assert.Regexp(t, `^203\.0\.113\.10 +setup +sudo -n apt-get update +\d+\.\d\ds  ok$`, lines[0])
	})

	t.Run("stops at the first command that fails, naming the host", func(t *testing.T) {
		var out bytes.Buffer
		r := &fakeRunner{RunFunc: func(cmd string) (ssh.Result, error) {
			if strings.Contains(cmd, "install") {
				return ssh.Result{ExitCode: 100}, &ssh.ExitError{Host: "deploy@203.0.113.10:22", Command: cmd, ExitCode: 100, Stderr: "E: Unable to locate package docker.io"}
			}
			return ssh.Result{}, nil
		}}
		err := runSetupCommands(context.Background(), r, hs, newPrinter(&out))
		var exit *ssh.ExitError
		require.True(t, errors.As(err, &exit), "%v", err)
		assert.Equal(t, 100, exit.ExitCode)
		assert.Contains(t, err.Error(), "203.0.113.10: run \"sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io\"")
		assert.Contains(t, err.Error(), "Unable to locate package docker.io")
		assert.Len(t, r.ran, 2, "Docker is not started after a failed install")
		assert.Contains(t, out.String(), "FAILED")
	})
}

func TestSetupProbe(t *testing.T) {
	t.Run("reads what the probe prints", func(t *testing.T) {
		var c HostCheck
		parseProbe([]byte("uid=1000\nuser=deploy\ngroup=yes\napt=yes\nsystemd=yes\ndocker=yes\nsudo=yes\nos=Debian GNU/Linux 12 (bookworm)\n"), &c)
		assert.Equal(t, HostCheck{User: "deploy", InDockerGroup: true, Apt: true, Systemd: true, Docker: DockerStopped, Sudo: true,
			OS: "Debian GNU/Linux 12 (bookworm)"}, c)
	})
	t.Run("a bare host is root without Docker, apt-get or systemd", func(t *testing.T) {
		var c HostCheck
		parseProbe([]byte("uid=0\nuser=root\n"), &c)
		assert.Equal(t, HostCheck{User: "root", Root: true}, c)
	})
}
