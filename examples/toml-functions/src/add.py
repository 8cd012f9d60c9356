def main(args):
    return {"sum": args.get("a", 0) + args.get("b", 0)}
