package ssh

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// failureMemory is how long Bastions answers with a bastion's failed dial
// instead of dialling it again: hosts that start together behind a
// bastion that refuses share one attempt rather than hammering it.
const failureMemory = 5 * time.Second

// Bastions shares one connection per bastion among the hosts dialled
// through it, as OpenSSH's ControlMaster does for a ProxyJump host. Thirty
// servers behind one Jump cost one handshake with the bastion, its host
// key is checked once, and a bastion whose sshd limits unauthenticated
// connections (MaxStartups) sees one. Each host's own connection is
// still a channel of its own through that one connection.
//
// A bastion that refuses is not hammered: its failed dial is the answer
// for every host dialled through it in the next few seconds (hosts
// waiting on a dial share its outcome), and an error from sshd dropping
// the connection before the handshake (MaxStartups) says so. The hosts'
// channels through the shared connection are forwards, not sessions, so
// the bastion's MaxSessions does not limit them; how many are opened at
// once is bounded by the caller (deploy's Options.Parallel bounds
// Connect, Check and reconnects), and a channel the bastion refuses
// (AllowTcpForwarding, PermitOpen) fails that host's dial with an error
// naming the bastion, without a retry.
//
// The zero value is ready to use. A Bastions is safe for concurrent use;
// Close it after the clients dialled through it.
type Bastions struct {
	mu    sync.Mutex
	conns map[string]*bastion
}

type bastion struct {
	ready  chan struct{} // closed once the dial has ended
	client *Client
	err    error
	failed time.Time
}

// Dial connects to the host as Dial does, through the shared connection
// to its Jump host when it has one: the first host behind a bastion dials
// it, the others wait for that dial and use its connection. A bastion
// behind a bastion is shared the same way. Closing the returned client
// leaves the bastion's connection open for the others.
func (b *Bastions) Dial(ctx context.Context, cfg Config) (*Client, error) {
	return dial(ctx, cfg, b)
}

// get returns the shared connection to the bastion cfg, dialling it when
// there is none, it has ended, or its last failure is old.
func (b *Bastions) get(ctx context.Context, cfg Config) (*Client, error) {
	key := bastionKey(cfg)
	b.mu.Lock()
	if b.conns == nil {
		b.conns = map[string]*bastion{}
	}
	bs, ok := b.conns[key]
	if ok && !bs.usable() {
		ok = false
	}
	if !ok {
		bs = &bastion{ready: make(chan struct{})}
		b.conns[key] = bs
		go func() {
			// The dial outlives the first caller's context: the hosts
			// waiting on it have contexts of their own, and a bastion
			// is bounded by its own ConnectTimeout.
			bs.client, bs.err = dial(context.WithoutCancel(ctx), cfg, b)
			if bs.err != nil {
				bs.failed = time.Now()
			}
			close(bs.ready)
		}()
	}
	b.mu.Unlock()
	select {
	case <-bs.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("connect to bastion %s: %w", cfg.Destination(), ctx.Err())
	}
	return bs.client, bs.err
}

// usable reports whether a bastion entry can serve another host: its
// dial is under way, succeeded and is still up, or failed only lately.
func (bs *bastion) usable() bool {
	select {
	case <-bs.ready:
	default:
		return true // dialling: wait for it
	}
	if bs.err != nil {
		return time.Since(bs.failed) < failureMemory
	}
	return bs.client.Alive()
}

// Close ends every bastion connection. Clients dialled through them lose
// their connections too, so close it last.
func (b *Bastions) Close() error {
	b.mu.Lock()
	conns := b.conns
	b.conns = nil
	b.mu.Unlock()
	for _, bs := range conns {
		<-bs.ready
		if bs.client != nil {
			bs.client.Close()
		}
	}
	return nil
}

// Open returns how many bastion connections are up.
func (b *Bastions) Open() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, bs := range b.conns {
		select {
		case <-bs.ready:
			if bs.err == nil && bs.client.Alive() {
				n++
			}
		default:
		}
	}
	return n
}

// bastionKey identifies a bastion by everything that makes its
// connection: who logs in where, with which keys, checked against which
// known_hosts, through which bastion of its own.
func bastionKey(cfg Config) string {
	var b strings.Builder
	for c := &cfg; c != nil; c = c.Jump {
		fmt.Fprintf(&b, "%s|%s|%v|%s|%v|%v|%s;", c.Destination(), strings.Join(c.keyFiles(), ","), c.NoAgent,
			c.KnownHosts, c.TrustOnFirstUse, c.ConnectTimeout, c.KeepAliveInterval)
	}
	return b.String()
}
