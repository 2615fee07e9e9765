from fwsign.cli.main import main

main()
