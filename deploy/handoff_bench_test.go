package deploy_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/deploy"
)

// BenchmarkHandoff measures, side by side in one run, what a handoff adds
// to a request's wait: the time the service is paused (from the start of
// handoff-pause to the end of handoff-resume), against the test app's own
// boot-to-healthy time, the part of it that belongs to the app.
//
//	go test -run '^$' -bench Handoff -benchtime 5x ./deploy/
func BenchmarkHandoff(b *testing.B) {
	ctx := context.Background()
	a, h := handoffApp(b)
	s := connect(b, a, io.Discard)
	if _, err := s.Deploy(ctx, deploy.Release{Version: "v1"}); err != nil {
		b.Fatal(err)
	}
	boot := appBootToHealthy(b, h)

	var paused, stop, start, gate time.Duration
	b.ResetTimer()
	for i := range b.N {
		rep, err := s.Deploy(ctx, deploy.Release{Version: []string{"v2", "v1"}[i%2]})
		if err != nil {
			b.Fatal(err)
		}
		var from, to time.Time
		for _, r := range rep.Steps {
			switch r.Step.Kind {
			case deploy.StepHandoffPause:
				from = r.Start
			case deploy.StepHandoffStop:
				stop += r.Duration
			case deploy.StepHandoffStart:
				start += r.Duration
			case deploy.StepHandoffProxy:
				gate += r.Duration
			case deploy.StepHandoffResume:
				to = r.Start.Add(r.Duration)
			}
		}
		if from.IsZero() || to.IsZero() {
			b.Fatalf("deploy %d did not hand off", i)
		}
		paused += to.Sub(from)
	}
	b.StopTimer()
	n := time.Duration(b.N)
	b.ReportMetric(float64((paused / n).Milliseconds()), "paused-ms")
	b.ReportMetric(float64(boot.Milliseconds()), "app-boot-ms")
	b.ReportMetric(float64(paused/n)/float64(boot), "paused/boot-x")
	fmt.Fprintf(os.Stdout, "\nhandoff of the test app on %s, %d handoffs:\n"+
		"  requests held (pause to resume)  %7s  (%.1fx the app's boot-to-healthy)\n"+
		"    stop old %7s   start new %7s   gate and switch %7s\n"+
		"  app boot-to-healthy              %7s\n",
		h.Name, b.N, (paused / n).Round(time.Millisecond), float64(paused/n)/float64(boot),
		(stop / n).Round(time.Millisecond), (start / n).Round(time.Millisecond), (gate / n).Round(time.Millisecond),
		boot.Round(time.Millisecond))
}
