package image

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// streamRepo is the repository the operator-side registry serves images
// under; hosts only ever see it behind 127.0.0.1:PORT for the length of
// a delivery.
const streamRepo = "slipway/delivery"

// server is the operator side of registry-free delivery: an in-process
// registry (go-containerregistry's) that serves the built images' blobs
// straight from memory or from the build's files. Each host reaches it
// through a port its sshd opens on the host's loopback (a remote
// forward), so the host's engine pulls with nothing installed and no
// port opened to the network, and fetches only the layers it lacks —
// engines accept plain HTTP from 127.0.0.0/8. A random per-delivery login
// keeps other local users of the host from reading the image meanwhile.
type server struct {
	handler http.Handler
	images  map[string]v1.Image // by platform
	configs map[v1.Hash]bool
	user    string
	token   string
	blobs   *blobStore
}

// blobStore serves the blobs of a set of images by digest.
type blobStore struct {
	mu    sync.Mutex
	blobs map[v1.Hash]blob
}

type blob struct {
	size int64
	open func() (io.ReadCloser, error)
}

// Stat implements registry.BlobStatHandler.
func (s *blobStore) Stat(_ context.Context, _ string, h v1.Hash) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[h]
	if !ok {
		return 0, registry.ErrNotFound
	}
	return b.size, nil
}

// Get implements registry.BlobHandler.
func (s *blobStore) Get(_ context.Context, _ string, h v1.Hash) (io.ReadCloser, error) {
	s.mu.Lock()
	b, ok := s.blobs[h]
	s.mu.Unlock()
	if !ok {
		return nil, registry.ErrNotFound
	}
	return b.open()
}

func (s *blobStore) addImage(img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		n, err := l.Size()
		if err != nil {
			return err
		}
		s.blobs[d] = blob{size: n, open: l.Compressed}
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	cd, err := img.ConfigName()
	if err != nil {
		return err
	}
	s.blobs[cd] = blob{size: int64(len(raw)), open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(string(raw))), nil
	}}
	return nil
}

// newServer loads every image of built into an in-process registry, each
// under a tag named after its platform.
func newServer(ctx context.Context, built *Built) (*server, error) {
	secret := make([]byte, 16)
	rand.Read(secret)
	s := &server{
		user:    "slipway",
		token:   hex.EncodeToString(secret),
		blobs:   &blobStore{blobs: map[v1.Hash]blob{}},
		images:  built.Images,
		configs: map[v1.Hash]bool{},
	}
	s.handler = registry.New(registry.WithBlobHandler(s.blobs), registry.Logger(log.New(io.Discard, "", 0)))
	// Manifests go in through the handler itself: no socket is opened.
	tr := handlerTransport{s.handler}
	for p, img := range built.Images {
		if err := s.blobs.addImage(img); err != nil {
			return nil, fmt.Errorf("read image for %s: %w", p, err)
		}
		if cd, err := img.ConfigName(); err == nil {
			s.configs[cd] = true
		}
		ref, err := name.ParseReference("slipway.invalid/"+streamRepo+":"+tagOf(p), name.Insecure)
		if err != nil {
			return nil, err
		}
		if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithTransport(tr)); err != nil {
			return nil, fmt.Errorf("serve image for %s: %w", p, err)
		}
	}
	return s, nil
}

func tagOf(platform string) string { return strings.ReplaceAll(platform, "/", "-") }

// send delivers ref's image for t's platform to t through a remote
// forward on t's loopback, and points ref at it.
func (s *server) send(ctx context.Context, t Target, ref string, b *bar) (Result, error) {
	res := Result{Host: t.Name}
	img, ok := s.images[t.Platform]
	if !ok {
		return res, fmt.Errorf("no image for %s", t.Platform)
	}
	if t.SSH == nil {
		return res, errors.New("registry-free delivery needs the host's SSH connection")
	}
	l, err := t.SSH.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	port := 0
	if a, ok := l.Addr().(*net.TCPAddr); ok {
		port = a.Port
	}
	if port == 0 {
		l.Close()
		return res, fmt.Errorf("registry-free delivery: %s did not say which port it opened", t.Name)
	}
	var sent atomic.Int64
	var layers atomic.Int32
	srv := &http.Server{
		Handler:  s.authorize(s.countLayers(&layers)),
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go srv.Serve(countingListener{Listener: l, n: &sent, bar: b})
	defer srv.Close()

	if b.p.shown() {
		total, n := missing(ctx, t.Engine, ref, img) // only sizes the bar
		b.begin(total, n)
	} else {
		b.begin(0, 0)
	}

	server := "127.0.0.1:" + strconv.Itoa(port)
	from := server + "/" + streamRepo + ":" + tagOf(t.Platform)
	auth := &engine.RegistryAuth{Server: server, Username: s.user, Password: s.token}
	if err := t.Engine.ImagePull(ctx, from, auth, nil); err != nil {
		return res, fmt.Errorf("registry-free delivery: %w", err)
	}
	res.Bytes, res.Layers = sent.Load(), int(layers.Load())
	got, err := t.Engine.ImageInspect(ctx, from)
	if err != nil {
		return res, err
	}
	res.ImageID = got.ID
	if err := t.Engine.ImageTag(ctx, from, ref); err != nil {
		return res, err
	}
	// Drop the delivery's own name; the image keeps ref.
	if err := t.Engine.ImageRemove(ctx, from, false); err != nil && !errors.Is(err, engine.ErrNotFound) {
		return res, err
	}
	return res, nil
}

// authorize lets through only requests carrying this delivery's login,
// with the Basic challenge engines answer with the login they were given.
func (s *server) authorize(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != s.user || subtle.ConstantTimeCompare([]byte(p), []byte(s.token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="slipway delivery"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"login required"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// countLayers counts layer fetches.
func (s *server) countLayers(n *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, d, ok := strings.Cut(r.URL.Path, "/blobs/"); ok && r.Method == http.MethodGet {
			if h, err := v1.NewHash(d); err == nil && !s.configs[h] {
				n.Add(1)
			}
		}
		s.handler.ServeHTTP(w, r)
	})
}

// missing estimates what a host lacks of img: the layers no image of
// ref's repository on the host has (an engine skips a layer it already
// fetched from any registry). It only sizes the progress bar.
func missing(ctx context.Context, e *engine.Engine, ref string, img v1.Image) (bytes int64, layers int) {
	have := map[string]bool{}
	repo := ref
	if r, err := name.ParseReference(ref); err == nil {
		repo = r.Context().Name()
	}
	if imgs, err := e.ImageList(ctx, nil); err == nil {
		for _, i := range imgs {
			for _, tag := range i.Tags {
				if r, err := name.ParseReference(tag); err == nil && r.Context().Name() == repo {
					ids, _ := e.ImageLayers(ctx, i.ID)
					for _, id := range ids {
						have[id] = true
					}
					break
				}
			}
		}
	}
	ls, err := img.Layers()
	if err != nil {
		return 0, 0
	}
	for _, l := range ls {
		diff, err := l.DiffID()
		if err != nil || have[diff.String()] {
			continue
		}
		n, _ := l.Size()
		bytes += n
		layers++
	}
	return bytes, layers
}

// handlerTransport sends requests straight to an http.Handler.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// countingListener counts the bytes its connections write: the bytes that
// travel to the host.
type countingListener struct {
	net.Listener
	n   *atomic.Int64
	bar *bar
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, n: l.n, bar: l.bar}, nil
}

type countingConn struct {
	net.Conn
	n   *atomic.Int64
	bar *bar
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	c.bar.addBytes(int64(n))
	return n, err
}
