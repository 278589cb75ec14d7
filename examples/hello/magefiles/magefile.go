//go:build mage

// hello's deploy tasks: Slipway's ready targets, configured with hello's
// App. By default they deploy to the local lab; set up your own servers
// in deployment.App.
package main

import (
	"github.com/slipwayhq/slipway/examples/hello/deployment"

	//mage:import
	"github.com/slipwayhq/slipway/targets"
)

func init() {
	targets.Use(deployment.Lab()) // its Databases configure the replica targets too
	targets.UseDrills("", deployment.DrillQueries...)
	targets.UseAppDrill(deployment.SmokeChecks, deployment.DrillDropEnv...)
}
