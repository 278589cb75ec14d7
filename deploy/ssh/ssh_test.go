package ssh_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/ssh"
	"github.com/slipwayhq/slipway/internal/lab"
)

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestClient(t *testing.T) {
	h := lab.Require(t, 1).Hosts[0]
	c := h.Dial(t)
	ctx := ctxFor(t, 30*time.Second)

	t.Run("runs a command and returns its output", func(t *testing.T) {
		res, err := c.Run(ctx, "echo hello; echo oops >&2", nil)
		require.NoError(t, err)
		assert.Equal(t, "hello\n", string(res.Stdout))
		assert.Equal(t, "oops\n", string(res.Stderr))
		assert.Equal(t, 0, res.ExitCode)
	})

	t.Run("reports a non-zero exit with its stderr", func(t *testing.T) {
		res, err := c.Run(ctx, "echo broken >&2; exit 7", nil)
		var exit *ssh.ExitError
		require.ErrorAs(t, err, &exit)
		assert.Equal(t, 7, exit.ExitCode)
		assert.Equal(t, 7, res.ExitCode)
		assert.Contains(t, err.Error(), "broken")
		assert.Contains(t, err.Error(), h.Addr)
	})

	t.Run("feeds stdin", func(t *testing.T) {
		res, err := c.Run(ctx, "tr a-z A-Z", strings.NewReader("shout"))
		require.NoError(t, err)
		assert.Equal(t, "SHOUT", string(res.Stdout))
	})

	t.Run("returns when the context ends", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Run(short, "sleep 3", nil)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 2*time.Second, "did not wait for the command")
	})

	t.Run("uploads a file with its mode, atomically", func(t *testing.T) {
		dest := fmt.Sprintf("/tmp/slipway-upload-%d/dir/conf", time.Now().UnixNano())
		t.Cleanup(func() { c.Run(context.Background(), "rm -rf "+ssh.Quote(filepath.Dir(filepath.Dir(dest))), nil) })
		require.NoError(t, c.Upload(ctx, dest, 0o640, strings.NewReader("key: value\n")))
		res, err := c.Run(ctx, "stat -c %a "+dest+"; cat "+dest+"; ls "+filepath.Dir(dest), nil)
		require.NoError(t, err)
		assert.Equal(t, "640\nkey: value\nconf\n", string(res.Stdout), "no temporary file is left beside it")
	})

	t.Run("reaches a unix socket on the host", func(t *testing.T) {
		conn, err := c.DialContext(ctx, "unix", h.DockerSocket)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "GET /_ping HTTP/1.0\r\n\r\n")
		require.NoError(t, err)
		reply, err := io.ReadAll(conn)
		require.NoError(t, err)
		assert.Contains(t, string(reply), "200 OK")
	})

	t.Run("shares one connection between concurrent callers", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := c.Run(ctx, fmt.Sprintf("echo %d", i), nil)
				if err == nil && strings.TrimSpace(string(res.Stdout)) != fmt.Sprint(i) {
					err = fmt.Errorf("got %q for %d", res.Stdout, i)
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			assert.NoError(t, err)
		}
	})
}

func TestJumpHost(t *testing.T) {
	h := lab.Require(t, 1).Hosts[0]
	cfg := h.SSHConfig()
	jump := h.SSHConfig()
	cfg.Jump = &jump // the lab's hosts only route to themselves, so jump through h1 to h1
	c, err := ssh.Dial(ctxFor(t, 30*time.Second), cfg)
	require.NoError(t, err)
	defer c.Close()
	res, err := c.Run(context.Background(), "echo through", nil)
	require.NoError(t, err)
	assert.Equal(t, "through\n", string(res.Stdout))
}

func TestHostKeyChecking(t *testing.T) {
	h := lab.Require(t, 2).Hosts[0]
	other := lab.Require(t, 2).Hosts[1]
	ctx := ctxFor(t, 30*time.Second)

	t.Run("refuses a changed key and names the fingerprint", func(t *testing.T) {
		// A known_hosts that gives h1's address the key of h2: what a
		// reinstalled server, or a machine in the middle, looks like.
		known := filepath.Join(t.TempDir(), "known_hosts")
		line := keyLineFor(t, h.KnownHosts, other.Addr)
		require.NoError(t, os.WriteFile(known, []byte(strings.Replace(line, other.Addr, h.Addr, 1)+"\n"), 0o600))
		cfg := h.SSHConfig()
		cfg.KnownHosts = known

		c, err := ssh.Dial(ctx, cfg)
		require.Nil(t, c, "no connection, so nothing can run on the host")
		var hk *ssh.HostKeyError
		require.ErrorAs(t, err, &hk)
		require.ErrorIs(t, err, ssh.ErrHostKeyChanged)
		assert.Contains(t, err.Error(), "SHA256:")
		assert.Contains(t, err.Error(), h.Addr)
		assert.Contains(t, err.Error(), "ssh-keygen -R")
		assert.Equal(t, 1, hk.Line)
	})

	t.Run("refuses an unknown host unless trust on first use is asked for", func(t *testing.T) {
		known := filepath.Join(t.TempDir(), "known_hosts")
		cfg := h.SSHConfig()
		cfg.KnownHosts = known

		_, err := ssh.Dial(ctx, cfg)
		require.ErrorIs(t, err, ssh.ErrUnknownHost)
		assert.Contains(t, err.Error(), "ssh-keyscan "+h.Addr)
		_, statErr := os.Stat(known)
		assert.ErrorIs(t, statErr, os.ErrNotExist, "a strict check writes nothing")

		cfg.TrustOnFirstUse = true
		c, err := ssh.Dial(ctx, cfg)
		require.NoError(t, err)
		c.Close()

		cfg.TrustOnFirstUse = false
		c, err = ssh.Dial(ctx, cfg)
		require.NoError(t, err, "the recorded key is trusted from now on")
		c.Close()
	})
}

func TestDialErrors(t *testing.T) {
	l := lab.Require(t, 1)
	h := l.Hosts[0]
	timeout := 3 * time.Second

	cases := []struct {
		name  string
		edit  func(*ssh.Config)
		wants []string
	}{
		{"unreachable host", func(c *ssh.Config) { c.Host = strings.TrimSuffix(h.Addr, ".2") + ".3" }, // on the lab's link, nobody there
			[]string{"root@10.250.1.3:22", "check the address"}},
		{"wrong port", func(c *ssh.Config) { c.Port = 2222 },
			[]string{h.Addr + ":2222", "connection refused", "Server.Port"}},
		{"wrong user", func(c *ssh.Config) { c.User = "nobody" },
			[]string{"nobody@" + h.Addr, `log in as "nobody" refused`, "authorized_keys"}},
		{"missing key file", func(c *ssh.Config) { c.KeyFiles = []string{"/nonexistent/id_ed25519"} },
			[]string{h.Addr, "/nonexistent/id_ed25519", "no such file", "KeyFiles"}},
		{"empty host", func(c *ssh.Config) { c.Host = "" },
			[]string{"host: must not be empty"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := h.SSHConfig()
			cfg.ConnectTimeout = timeout
			tc.edit(&cfg)
			start := time.Now()
			c, err := ssh.Dial(context.Background(), cfg)
			elapsed := time.Since(start)
			require.Error(t, err)
			require.Nil(t, c)
			for _, want := range tc.wants {
				assert.Contains(t, err.Error(), want)
			}
			// Not a performance figure: failing must not outlast the timeout.
			assert.Less(t, elapsed, timeout+2*time.Second, "gave up within the connect timeout")
		})
	}
}

func TestDockerSocketMissing(t *testing.T) {
	h := lab.Require(t, 1).Hosts[0]
	c := h.Dial(t)
	ctx := ctxFor(t, 10*time.Second)
	_, err := lab.EngineOver(ctx, c, "/run/nothing-here/docker.sock")
	require.Error(t, err)
	assert.Contains(t, err.Error(), h.Addr)
	assert.Contains(t, err.Error(), "/run/nothing-here/docker.sock")
	assert.Contains(t, err.Error(), "DockerSocket")
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain/path-1.txt": "plain/path-1.txt",
		"":                 "''",
		"two words":        "'two words'",
		"it's":             `'it'\''s'`,
		"$(rm -rf /)":      "'$(rm -rf /)'",
	} {
		assert.Equal(t, want, ssh.Quote(in), "Quote(%q)", in)
	}
}

// keyLineFor returns the known_hosts line for addr.
func keyLineFor(t *testing.T, knownHosts, addr string) string {
	b, err := os.ReadFile(knownHosts)
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, addr+" ") {
			return l
		}
	}
	t.Fatalf("%s not in %s", addr, knownHosts)
	return ""
}

func TestCommandTimeout(t *testing.T) {
	h := lab.Require(t, 1).Hosts[0]
	cfg := h.SSHConfig()
	cfg.CommandTimeout = 500 * time.Millisecond
	c, err := ssh.Dial(ctxFor(t, 30*time.Second), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	ctx := ctxFor(t, 30*time.Second)

	t.Run("ends a command that stays silent, naming the host and the command", func(t *testing.T) {
		_, err := c.Run(ctx, "sleep 5", nil)
		require.ErrorIs(t, err, ssh.ErrCommandTimeout)
		assert.Contains(t, err.Error(), h.Addr)
		assert.Contains(t, err.Error(), `"sleep 5"`)
		assert.Contains(t, err.Error(), "500ms")
	})

	t.Run("lets a command run longer than the limit while it keeps writing", func(t *testing.T) {
		res, err := c.Run(ctx, "for i in 1 2 3 4 5 6; do echo $i; sleep 0.2; done", nil)
		require.NoError(t, err)
		assert.Equal(t, "1\n2\n3\n4\n5\n6\n", string(res.Stdout))
	})

	t.Run("the connection stays usable after a timeout", func(t *testing.T) {
		res, err := c.Run(ctx, "echo still here", nil)
		require.NoError(t, err)
		assert.Equal(t, "still here\n", string(res.Stdout))
		assert.True(t, c.Alive())
	})
}

func TestBastionsShareOneConnection(t *testing.T) {
	const hosts = 6
	l := lab.Require(t, hosts)
	bastion := l.RequireBastion(t)
	ctx := ctxFor(t, time.Minute)

	var b ssh.Bastions
	clients := make([]*ssh.Client, hosts)
	errs := make(chan error, hosts)
	for i := range clients {
		go func() {
			c, err := b.Dial(ctx, bastion.Behind(l.Hosts[i]))
			clients[i] = c
			errs <- err
		}()
	}
	for range hosts {
		require.NoError(t, <-errs)
	}
	t.Cleanup(func() {
		for _, c := range clients {
			c.Close()
		}
		b.Close()
	})
	assert.Equal(t, 1, b.Open())

	// Counted by the bastion's kernel: this machine's connections to it,
	// and its own to the hosts' sshd.
	conns, err := bastion.ClientConnections()
	require.NoError(t, err)
	assert.Equal(t, 1, conns, "one connection to the bastion for %d hosts", hosts)
	through, err := bastion.ForwardedConnections()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, through, hosts, "the hosts' connections come out of the bastion")
	for i, c := range clients {
		res, err := c.Run(ctx, "echo $SSH_CONNECTION", nil)
		require.NoError(t, err)
		f := strings.Fields(string(res.Stdout)) // client address and port, server address and port
		require.Len(t, f, 4)
		assert.Equal(t, []string{lab.BastionAddr, l.Hosts[i].Addr}, []string{f[0], f[2]}, "%s sees the bastion as its client", l.Hosts[i].Name)
	}

	t.Run("a closed host leaves the bastion to the others", func(t *testing.T) {
		require.NoError(t, clients[hosts-1].Close())
		res, err := clients[1].Run(ctx, "echo still", nil)
		require.NoError(t, err)
		assert.Equal(t, "still\n", string(res.Stdout))
		assert.Equal(t, 1, b.Open())
	})
	t.Run("a host the bastion cannot reach fails naming the bastion, the others keep it", func(t *testing.T) {
		closed := bastion.Behind(l.Hosts[0])
		closed.Port = 2222 // nothing listens there
		c, err := b.Dial(ctx, closed)
		require.Nil(t, c)
		assert.ErrorContains(t, err, "the bastion root@"+lab.BastionAddr+":22 could not reach it")
		assert.Equal(t, 1, b.Open())
		_, err = clients[0].Run(ctx, "true", nil)
		require.NoError(t, err)
	})
	t.Run("a bastion that refuses is dialled once for every host waiting on it", func(t *testing.T) {
		behind := bastion.Behind(l.Hosts[0])
		bad := *behind.Jump
		bad.KnownHosts = filepath.Join(t.TempDir(), "known_hosts") // empty: the bastion's key is unknown
		require.NoError(t, os.WriteFile(bad.KnownHosts, nil, 0o600))
		behind.Jump = &bad
		var refused ssh.Bastions
		defer refused.Close()
		var first *ssh.HostKeyError
		for i := range 3 {
			c, err := refused.Dial(ctx, behind)
			require.Nil(t, c)
			require.ErrorIs(t, err, ssh.ErrUnknownHost)
			var hk *ssh.HostKeyError
			require.ErrorAs(t, err, &hk)
			if i == 0 {
				first = hk
			}
			assert.Same(t, first, hk, "the hosts share the bastion's one failed attempt")
		}
		assert.Equal(t, 0, refused.Open())
	})
}
