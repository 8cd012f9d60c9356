def main(args):
    """Returns a greeting for the `name` parameter."""
    name = args.get("name", "stranger")
    greeting = "Hello " + name + "!"
    print(greeting)
    return {"body": greeting}
