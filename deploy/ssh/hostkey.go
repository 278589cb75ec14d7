package ssh

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ErrUnknownHost means the host's key is not in known_hosts and
// trust-on-first-use was not asked for.
var ErrUnknownHost = errors.New("host key is not known")

// ErrHostKeyChanged means known_hosts holds a different key for the host:
// the server was reinstalled, or someone is in the middle.
var ErrHostKeyChanged = errors.New("host key does not match known_hosts")

// HostKeyError explains a refused host key: which host, which file, the
// key the server offered, and what to do about it.
type HostKeyError struct {
	Err         error // ErrUnknownHost or ErrHostKeyChanged
	Host        string
	KnownHosts  string
	Fingerprint string // SHA256 fingerprint of the key the server offered
	KeyType     string
	Line        int // known_hosts line of the conflicting key, for ErrHostKeyChanged
}

// Error shows the fingerprint and the command that trusts or forgets the key.
func (e *HostKeyError) Error() string {
	if errors.Is(e.Err, ErrHostKeyChanged) {
		return fmt.Sprintf("%s: %v: the server offered %s %s but %s line %d holds another key. "+
			"If the server was reinstalled, verify the new fingerprint out of band, then run "+
			"`ssh-keygen -R %s -f %s` and connect again; otherwise do not connect",
			e.Host, e.Err, e.KeyType, e.Fingerprint, e.KnownHosts, e.Line, e.Host, e.KnownHosts)
	}
	return fmt.Sprintf("%s: %v: the server offered %s %s, which is not in %s. "+
		"Verify that fingerprint out of band, then add it with `ssh-keyscan %s >> %s`, "+
		"or set TrustOnFirstUse to record it on first connect",
		e.Host, e.Err, e.KeyType, e.Fingerprint, e.KnownHosts, keyscanArgs(e.Host), e.KnownHosts)
}

// Unwrap returns ErrUnknownHost or ErrHostKeyChanged.
func (e *HostKeyError) Unwrap() error { return e.Err }

func keyscanArgs(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || port == "22" {
		return strings.Trim(hostport, "[]")
	}
	return "-p " + port + " " + host
}

// hostKeys checks server keys against one known_hosts file, read when a
// connection starts so edits to the file take effect on the next connect.
type hostKeys struct {
	path string
	tofu bool

	mu       sync.Mutex
	callback gossh.HostKeyCallback
}

// recordMu serialises trust-on-first-use appends from concurrent connects.
var recordMu sync.Mutex

func newHostKeys(path string, tofu bool) (*hostKeys, error) {
	h := &hostKeys{path: path, tofu: tofu}
	if err := h.load(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *hostKeys) load() error {
	if _, err := os.Stat(h.path); errors.Is(err, os.ErrNotExist) {
		if !h.tofu {
			// A missing file knows no host; each host is then refused
			// with its fingerprint, which is the clearer message.
			h.callback = func(string, net.Addr, gossh.PublicKey) error {
				return &knownhosts.KeyError{}
			}
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(h.path), 0o700); err != nil {
			return fmt.Errorf("create known_hosts %s: %w", h.path, err)
		}
		if err := os.WriteFile(h.path, nil, 0o600); err != nil {
			return fmt.Errorf("create known_hosts %s: %w", h.path, err)
		}
	}
	cb, err := knownhosts.New(h.path)
	if err != nil {
		return fmt.Errorf("read known_hosts %s: %w", h.path, err)
	}
	h.callback = cb
	return nil
}

// check is the gossh.HostKeyCallback for a connection to addr.
func (h *hostKeys) check(addr string) gossh.HostKeyCallback {
	return func(_ string, remote net.Addr, key gossh.PublicKey) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		err := h.callback(addr, remote, key)
		var ke *knownhosts.KeyError
		if !errors.As(err, &ke) {
			return err
		}
		refused := &HostKeyError{
			Err:         ErrUnknownHost,
			Host:        addr,
			KnownHosts:  h.path,
			Fingerprint: gossh.FingerprintSHA256(key),
			KeyType:     key.Type(),
		}
		if len(ke.Want) > 0 {
			refused.Err = ErrHostKeyChanged
			refused.Line = ke.Want[0].Line
			return refused
		}
		if !h.tofu {
			return refused
		}
		return h.record(addr, key)
	}
}

func (h *hostKeys) record(addr string, key gossh.PublicKey) error {
	recordMu.Lock()
	defer recordMu.Unlock()
	f, err := os.OpenFile(h.path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("record host key for %s in %s: %w", addr, h.path, err)
	}
	_, werr := fmt.Fprintln(f, knownhosts.Line([]string{knownhosts.Normalize(addr)}, key))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("record host key for %s in %s: %w", addr, h.path, werr)
	}
	return h.load()
}

// algorithms lists the host key algorithms known_hosts holds for addr, so
// the server is asked for a key we can check rather than its first choice.
// Without this a host known by its ed25519 key that prefers RSA would look
// like a changed key. Nil means "no preference" (an unknown host).
func (h *hostKeys) algorithms(addr string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	probe := gossh.PublicKey(probeKey)
	var ke *knownhosts.KeyError
	if err := h.callback(addr, &net.TCPAddr{}, probe); !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			algos = append(algos, a)
		}
	}
	for _, k := range ke.Want {
		switch t := k.Key.Type(); t {
		case gossh.KeyAlgoRSA:
			add(gossh.KeyAlgoRSASHA512)
			add(gossh.KeyAlgoRSASHA256)
			add(t)
		default:
			add(t)
		}
	}
	return algos
}

// probeKey is a key no server has; checking it yields the keys known for a host.
var probeKey = func() gossh.PublicKey {
	k, err := gossh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		panic(err)
	}
	return k
}()
