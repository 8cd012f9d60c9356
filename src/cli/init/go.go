package main

// Main returns a greeting for the `name` parameter.
func Main(args map[string]interface{}) map[string]interface{} {
	name, ok := args["name"].(string)
	if !ok {
		name = "stranger"
	}
	return map[string]interface{}{"body": "Hello " + name + "!"}
}
