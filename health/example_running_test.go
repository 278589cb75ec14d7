package health_test

import (
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/health"
)

// A worker without a health check of its own passes once its container
// has kept running, unrestarted, for For: Kamal's readiness_delay.
func ExampleRunning() {
	g := health.Running{For: 7 * time.Second}
	p := g.Policy()
	fmt.Println(g)
	fmt.Println(p.Successes, "tries", p.Interval, "apart, within", p.Deadline)
	// Output:
	// keeps running for 7s
	// 8 tries 1s apart, within 37s
}
