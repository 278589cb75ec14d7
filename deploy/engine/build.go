package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BuildOptions configure ImageBuild.
type BuildOptions struct {
	// Tags name the built image, "name:tag".
	Tags []string
	// Dockerfile is the Dockerfile's path inside the context; "" means "Dockerfile".
	Dockerfile string
	// Args are the build's ARG values.
	Args map[string]string
	// Target is the stage to build; "" means the last one.
	Target string
	// Labels are added to the image.
	Labels map[string]string
	// Platform, such as "linux/arm64"; "" means the engine's own.
	Platform string
	// NoCache builds every step afresh.
	NoCache bool
}

// BuildError is a failed build step: the step and the output it printed
// before it failed.
type BuildError struct {
	Host    string
	Step    string   // "Step 3/5 : RUN make", or "" when the build failed before any step
	Output  []string // the step's output lines
	Message string   // the engine's error
}

// Error names the failing step and shows its output.
func (e *BuildError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "build on %s failed", e.Host)
	if e.Step != "" {
		fmt.Fprintf(&b, " at %s", e.Step)
	}
	fmt.Fprintf(&b, ": %s", e.Message)
	if len(e.Output) > 0 {
		b.WriteString("\nstep output:")
		for _, l := range e.Output {
			b.WriteString("\n  " + l)
		}
	}
	return b.String()
}

// ansi matches the colour codes the builder wraps a step's stderr in.
var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// maxStepOutput is how many of a failed step's last lines a BuildError keeps.
const maxStepOutput = 30

// ImageBuild builds an image from a build context (a tar stream holding
// the Dockerfile and the files it copies) with the engine's classic
// builder, streaming the build's output to out (when not nil), and
// returns the new image's ID. A failing step returns a *BuildError
// carrying the step and its output. A build lasts as long as it makes
// progress or its engine still answers (see Options.IdleTimeout).
func (e *Engine) ImageBuild(ctx context.Context, buildContext io.Reader, opts BuildOptions, out io.Writer) (string, error) {
	args := map[string]*string{}
	for k, v := range opts.Args {
		args[k] = &v
	}
	w := e.watch(ctx)
	defer w.stop()
	resp, err := e.api.ImageBuild(w.ctx, w.reader(buildContext), client.ImageBuildOptions{
		Tags:        opts.Tags,
		Dockerfile:  opts.Dockerfile,
		BuildArgs:   args,
		Target:      opts.Target,
		Labels:      opts.Labels,
		Platforms:   platforms(opts.Platform),
		NoCache:     opts.NoCache,
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return "", fmt.Errorf("build on %s: %w", e.host, w.explain(err))
	}
	defer resp.Body.Close()

	dec := json.NewDecoder(w.reader(resp.Body))
	var (
		id   string
		step string
		tail []string
		line strings.Builder
	)
	for {
		var msg struct {
			Stream      string               `json:"stream"`
			Aux         *struct{ ID string } `json:"aux"`
			Error       string               `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("build on %s: read output: %w", e.host, w.explain(err))
		}
		if msg.Aux != nil && msg.Aux.ID != "" {
			id = msg.Aux.ID
		}
		if m := msg.ErrorDetail.Message + msg.Error; m != "" {
			if msg.ErrorDetail.Message != "" {
				m = msg.ErrorDetail.Message
			}
			if l := ansi.ReplaceAllString(line.String(), ""); strings.TrimSpace(l) != "" {
				tail = append(tail, l)
			}
			return "", &BuildError{Host: e.host, Step: step, Output: tail, Message: m}
		}
		if msg.Stream == "" {
			continue
		}
		if out != nil {
			io.WriteString(out, msg.Stream)
		}
		// Split the stream into lines, keeping the current step's last ones.
		for _, r := range msg.Stream {
			if r != '\n' {
				line.WriteRune(r)
				continue
			}
			l := ansi.ReplaceAllString(strings.TrimRight(line.String(), "\r"), "")
			line.Reset()
			if strings.HasPrefix(l, "Step ") {
				step, tail = l, nil
				continue
			}
			if strings.HasPrefix(l, " ---> ") || strings.HasPrefix(l, "Removing intermediate container") || strings.TrimSpace(l) == "" {
				continue
			}
			tail = append(tail, l)
			if len(tail) > maxStepOutput {
				tail = tail[1:]
			}
		}
	}
	if id == "" {
		return "", errors.New("build on " + e.host + ": the engine reported no image ID")
	}
	return id, nil
}

// platforms names the one platform a build is for, "" meaning the engine's own.
func platforms(p string) []ocispec.Platform {
	if p == "" {
		return nil
	}
	var pl ocispec.Platform
	pl.OS, p, _ = strings.Cut(p, "/")
	pl.Architecture, pl.Variant, _ = strings.Cut(p, "/")
	return []ocispec.Platform{pl}
}

// ImageSave streams the images refs name as a docker-archive tar, as
// docker save writes it. The caller closes the stream. The stream lasts
// as long as it moves or its engine still answers (see
// Options.IdleTimeout); a read after the engine stopped answering fails
// with ErrNoAnswer.
func (e *Engine) ImageSave(ctx context.Context, refs ...string) (io.ReadCloser, error) {
	w := e.watch(ctx)
	rc, err := e.api.ImageSave(w.ctx, refs)
	if err != nil {
		w.stop()
		return nil, fmt.Errorf("save %s on %s: %w", strings.Join(refs, ", "), e.host, w.explain(err))
	}
	return &savedImages{rc: rc, r: w.reader(rc), w: w, what: "save " + strings.Join(refs, ", ") + " on " + e.host}, nil
}

// savedImages is ImageSave's stream, which says why it broke.
type savedImages struct {
	rc   io.ReadCloser
	r    io.Reader
	w    *watch
	what string
}

func (s *savedImages) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%s: %w", s.what, s.w.explain(err))
	}
	return n, err
}

func (s *savedImages) Close() error {
	s.w.stop()
	return s.rc.Close()
}
