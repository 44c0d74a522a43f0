from smartschool.cli import main

main()
