// BookRuntime
