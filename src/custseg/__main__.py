# An absolute import: spark-submit runs this file as a script (docs/spark.md).
from custseg.cli import main

if __name__ == "__main__":
    main()
