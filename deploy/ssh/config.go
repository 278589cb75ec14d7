package ssh

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Defaults used when the matching Config field is zero.
const (
	DefaultPort              = 22
	DefaultUser              = "root"
	DefaultConnectTimeout    = 10 * time.Second
	DefaultKeepAliveInterval = 30 * time.Second
	DefaultCommandTimeout    = 2 * time.Minute
)

// Config says how to reach one host. The zero value of every field but Host
// means "use the default".
type Config struct {
	// Host is the server's name or address.
	Host string
	// Port is the sshd port; 0 means DefaultPort.
	Port int
	// User is the login user; "" means DefaultUser.
	User string

	// KeyFiles are private key files to offer. When empty, the usual
	// ~/.ssh/id_ed25519, id_ecdsa and id_rsa that exist are offered.
	// A passphrase-protected key must be loaded into ssh-agent instead.
	KeyFiles []string
	// NoAgent stops the client offering the keys of the ssh-agent found at
	// $SSH_AUTH_SOCK.
	NoAgent bool

	// KnownHosts is the known_hosts file host keys are checked against;
	// "" means ~/.ssh/known_hosts.
	KnownHosts string
	// TrustOnFirstUse accepts and records the key of a host that is not in
	// KnownHosts yet. A changed key is refused even then. Off by default:
	// an unknown host is refused with its fingerprint and how to trust it.
	TrustOnFirstUse bool

	// Jump is a bastion to connect through, like OpenSSH's ProxyJump.
	Jump *Config

	// ConnectTimeout bounds the TCP connect and the SSH handshake;
	// 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// KeepAliveInterval is how often an idle connection is probed; a
	// connection that misses a probe is closed. 0 means
	// DefaultKeepAliveInterval; negative turns keepalives off.
	KeepAliveInterval time.Duration
	// CommandTimeout bounds how long a command run by Run or Stream may
	// go without reading any input or writing any output: a command that
	// stays silent that long (a hung host, a hung command) is killed and
	// fails with ErrCommandTimeout, naming the host and the command. It
	// bounds silence rather than the whole run, so a long upload or a
	// streamed log that keeps moving is never cut. 0 means
	// DefaultCommandTimeout; negative turns it off.
	CommandTimeout time.Duration
}

// Addr returns host:port with the default port filled in.
func (c Config) Addr() string {
	port := c.Port
	if port == 0 {
		port = DefaultPort
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(port))
}

// Destination returns user@host:port, the way errors and output name a host.
func (c Config) Destination() string {
	return c.user() + "@" + c.Addr()
}

func (c Config) user() string {
	if c.User == "" {
		return DefaultUser
	}
	return c.User
}

func (c Config) connectTimeout() time.Duration {
	if c.ConnectTimeout <= 0 {
		return DefaultConnectTimeout
	}
	return c.ConnectTimeout
}

func (c Config) keepAlive() time.Duration {
	if c.KeepAliveInterval == 0 {
		return DefaultKeepAliveInterval
	}
	return c.KeepAliveInterval
}

func (c Config) commandTimeout() time.Duration {
	if c.CommandTimeout == 0 {
		return DefaultCommandTimeout
	}
	return c.CommandTimeout
}

func (c Config) knownHosts() (string, error) {
	if c.KnownHosts != "" {
		return c.KnownHosts, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find ~/.ssh/known_hosts: %w", err)
	}
	return filepath.Join(home, ".ssh", "known_hosts"), nil
}

func (c Config) keyFiles() []string {
	if len(c.KeyFiles) > 0 {
		return c.KeyFiles
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	var found []string
	for _, name := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
		p := filepath.Join(home, ".ssh", name)
		if _, err := os.Stat(p); err == nil {
			found = append(found, p)
		}
	}
	return found
}

// validate reports every problem with the config at once.
func (c Config) validate() error {
	var errs []string
	if c.Host == "" {
		errs = append(errs, "host: must not be empty")
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Sprintf("port: must be between 1 and 65535, got %d", c.Port))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("ssh config for %q: %s", c.Host, strings.Join(errs, "; "))
}
