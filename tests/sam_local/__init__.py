"""Container tests: `sam build` + `sam local invoke` of every function (see README.md)."""
