"""HTTP routes, one module per audience. Thin: parse, call one service, render one template."""
