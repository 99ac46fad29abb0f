"""EVA through PEFT: LoRA initialised from the SVD of each layer's input activations, with the
rank budget redistributed by explained variance."""

from balora.methods.base import Method
from balora.methods.budget import uniform_rank_within
from balora.methods.eva.config import EvaOptions
from balora.methods.lora.config import LoraOptions, LoraRankOptions, RsLoraOptions
from balora.quantization import QuantizationOptions

EVA = Method("eva", "PEFT EVA: LoRA from the SVD of layer inputs, ranks redistributed by explained variance.",
             (LoraRankOptions, LoraOptions, RsLoraOptions, EvaOptions, QuantizationOptions), "balora.methods.eva.method:prepare_eva", budget_settings=uniform_rank_within,
             rank_flags=("lora_r",),
             flag_help={"lora_r": "Average rank per module: EVA's rank budget is lora_r x target modules, moved "
                                  "between modules by explained variance (up to --eva_rho x lora_r each)."})
