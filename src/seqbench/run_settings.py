"""The numeric run settings that change what is trained, and the word that names each one.

Both a run's directory name (``seqbench.training.config``) and the report's labels of a
run's configuration (``seqbench.report``) are made from them; no torch, so the report stays light.
"""

# (RunConfig field, word before the value): "k5", "k 5"
NAMED_SETTINGS = (("hidden_size", "hidden"), ("levels", "levels"), ("kernel_size", "k"), ("dropout", "dropout"),
                  ("num_layers", "layers"), ("lr", "lr"), ("batch_size", "batch"))
